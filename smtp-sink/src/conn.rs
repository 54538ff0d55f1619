//! One connection's I/O: reads into a buffer, lets the [`Session`] answer, writes the
//! replies once the input is used up, and carries out faults and TLS.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::record::{ConnectionRecord, End};
use crate::server::Shared;
use crate::session::{Next, Session};
use crate::stream::Stream;

/// Serves one accepted connection to its end, recording it.
pub(crate) async fn serve(shared: Arc<Shared>, tcp: TcpStream, peer: SocketAddr) {
    let n = shared.store.counters.connection();
    let recording = !shared.config.discard;
    if recording {
        shared.store.open(ConnectionRecord {
            id: n,
            peer,
            hello: None,
            tls: None,
            auth: None,
            commands: Vec::new(),
            replies: Vec::new(),
            messages: Vec::new(),
            client_flights: 0,
            server_flights: 0,
            end: None,
        });
    }
    let mut session = Session::new(&shared, n);
    let end = run(&shared, &mut session, tcp, n).await;
    session.publish();
    if recording {
        shared.store.update(n, |c| c.end = Some(end));
    }
}

fn failed(e: std::io::Error) -> End {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => End::ClientClosed,
        _ => End::Error(e.to_string()),
    }
}

/// Writes the session's replies as one flight, after the configured delay; whether
/// there was anything to write.
async fn flush(
    shared: &Shared,
    session: &mut Session<'_>,
    stream: &mut Stream,
) -> Result<bool, End> {
    if session.out.is_empty() {
        return Ok(false);
    }
    if let Some(d) = shared.config.faults.reply_delay {
        tokio::time::sleep(d).await;
    }
    stream.write_all(&session.out).await.map_err(failed)?;
    stream.flush().await.map_err(failed)?;
    session.out.clear();
    session.server_flights += 1;
    Ok(true)
}

/// The server side of a TLS handshake, within the idle timeout if one is set.
async fn handshake(shared: &Shared, tcp: TcpStream) -> Result<Stream, End> {
    let accept = shared.acceptor.accept(tcp);
    let done = match shared.config.faults.idle_timeout {
        Some(t) => tokio::time::timeout(t, accept)
            .await
            .map_err(|_| End::IdleTimeout)?,
        None => accept.await,
    };
    match done {
        Ok(tls) => Ok(Stream::Tls(Box::new(tls))),
        Err(e) => Err(End::Error(format!("TLS handshake: {e}"))),
    }
}

async fn run(shared: &Shared, session: &mut Session<'_>, tcp: TcpStream, n: u64) -> End {
    let mut stream = match shared.config.implicit_tls {
        true => match handshake(shared, tcp).await {
            Ok(s) => s,
            Err(end) => return end,
        },
        false => Stream::Plain(tcp),
    };
    if shared.config.implicit_tls {
        session.tls_started(true, stream.tls_version(), stream.tls_resumed());
    }
    let mut next = session.greeting(n);
    let mut input: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut wrote = false;
    loop {
        match flush(shared, session, &mut stream).await {
            Ok(w) => wrote |= w,
            Err(end) => return end,
        }
        if wrote {
            // The flight counts, now that the flight is out.
            session.publish();
        }
        match next {
            Next::Read => {}
            Next::Close(end) => {
                let _ = stream.shutdown().await;
                return end;
            }
            Next::Reset => {
                // SO_LINGER 0: closing sends RST, as a crashed server's kernel would.
                let _ = stream.tcp().set_zero_linger();
                return End::Fault("reset after data");
            }
            Next::StartTls => {
                // RFC 3207 §4.2 (and CVE-2011-0411): nothing sent before the handshake
                // counts after it.
                input.clear();
                let Stream::Plain(tcp) = stream else {
                    return End::Error("STARTTLS over TLS".into());
                };
                stream = match handshake(shared, tcp).await {
                    Ok(s) => s,
                    Err(end) => return end,
                };
                session.tls_started(false, stream.tls_version(), stream.tls_resumed());
                next = Next::Read;
                continue;
            }
            Next::Stall => return stall(&mut stream, &mut input).await,
        }
        // Next::Read: more input, within the idle timeout.
        input.reserve(16 * 1024);
        let read = stream.read_buf(&mut input);
        let got = match shared.config.faults.idle_timeout {
            Some(t) => match tokio::time::timeout(t, read).await {
                Ok(r) => r,
                Err(_) => {
                    session.idle();
                    let _ = flush(shared, session, &mut stream).await;
                    let _ = stream.shutdown().await;
                    return End::IdleTimeout;
                }
            },
            None => read.await,
        };
        match got {
            Ok(0) => return End::ClientClosed,
            Ok(_) => {}
            Err(e) => return failed(e),
        }
        // A client flight begins with the first bytes read after replies were written.
        if wrote {
            session.client_flights += 1;
            wrote = false;
        }
        let (used, n) = session.handle(&input);
        input.drain(..used);
        next = n;
    }
}

/// Stays silent: reads and drops input until the client closes (or the sink stops).
async fn stall(stream: &mut Stream, input: &mut Vec<u8>) -> End {
    loop {
        input.clear();
        input.reserve(4096);
        match stream.read_buf(input).await {
            Ok(0) => return End::ClientClosed,
            Ok(_) => {}
            Err(e) => return failed(e),
        }
    }
}
