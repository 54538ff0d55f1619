// Shared by the loopback tests of smtp-tokio and smtp-smol, whose APIs are the same: each
// includes this file after `use <adapter crate> as adapter;`, and `const DROP_AT_END: bool` (whether a session the transcript leaves
// up is dropped rather than quit). Included, so no inner attributes here.

use smtp_testkit::plan::Op;
use smtp_testkit::scenario::{batch, Outcome, Scenario, Target};

/// Connects for the scenario, then runs its operations in order until one fails.
async fn run(s: &Scenario, t: &Target) -> Outcome {
    let mut builder = adapter::Builder::new(t.host)
        .port(t.addr.port())
        .tls_config(t.tls_config.clone());
    *builder.config_mut() = s.config();
    let conn = match builder.connect().await {
        Ok(c) => c,
        Err(e) => return Outcome::failed(e.into()),
    };
    let auth = conn.auth_mechanism().map(|m| m.as_str().to_owned());
    let mut outcome = Outcome::connected(s, conn.is_encrypted(), conn.tls_version(), auth);
    let mut conn = Some(conn);
    for op in s.ops() {
        let Some(c) = conn.as_mut() else { break };
        let done = match op {
            Op::Send(messages) => c
                .send_many(batch(messages))
                .await
                .map(|r| outcome.reports.extend(r)),
            Op::Noop => c.noop().await.map(|r| outcome.replies.push(r)),
            Op::Rset => c.rset().await.map(|r| outcome.replies.push(r)),
            Op::End { open: true } if DROP_AT_END => {
                drop(conn.take());
                Ok(())
            }
            Op::Quit | Op::End { .. } => match conn.take() {
                Some(c) => c.quit().await,
                None => Ok(()),
            },
        };
        if let Err(e) = done {
            outcome.error = Some(e.into());
            break;
        }
    }
    outcome
}
