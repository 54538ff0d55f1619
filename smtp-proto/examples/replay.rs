//! Replays the SMTP session of the project's seed document against the core, with no
//! network: the server's replies are canned, the client's bytes are real. Prints the
//! exchange as `C:`/`S:` lines.
//!
//! ```text
//! cargo run -p smtp-proto --example replay
//! ```

use smtp_proto::command::{EhloName, ForwardPath, Mechanism, ReversePath};
use smtp_proto::reply::Escaped;
use smtp_proto::{
    Client, Config, Credentials, Envelope, Event, Instant, Output, TlsMode, TlsPolicy,
};

/// What the seed's server said, one flight per entry, in the order it said it.
const SERVER: &[&[u8]] = &[
    b"220 mail.xx.com Anti-spam GT for Coremail System (icmhosting[20181212])\r\n",
    b"250-mail\r\n250-PIPELINING\r\n250-AUTH LOGIN PLAIN\r\n250-AUTH=LOGIN PLAIN\r\n250-coremail abcdefg\r\n250-STARTTLS\r\n250-SMTPUTF8\r\n250 8BITMIME\r\n",
    b"334 dXNlcm5hbWU6\r\n",
    b"334 UGFzc3dvcmQ6\r\n",
    b"235 Authentication successful\r\n",
    b"250 Mail OK\r\n250 Mail OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n",
    b"250 Mail OK queued as AQAAfwAnOED_4v5ev6lwAQ--.56424S2\r\n",
    b"221 Bye\r\n",
];

const BODY: &[u8] = b"To:654321@yy.org\nFrom:123456@xx.com\nSubject:Test mail from telnet\n\
Mime-Version:1.0\nContent-Type:Multipart/Mixed;boundary=My-Boundary\n\
Content-Transfer-Encoding:base64\n\n--My-Boundary\nContent-Type:Text/Plain;charset=utf-8\n\
Content-Transfer-Encoding:base64\n\nVGhpcyBpcyBhIHRlc3QgbWFpbCBmcm9tIHRlbG5ldCBjb21tYW5kLg==\n";

fn print_lines(prefix: &str, bytes: &[u8]) {
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let text = line.strip_suffix(b"\r\n").unwrap_or(line);
        println!("{prefix}{}", Escaped(text));
    }
}

fn main() {
    let mut config = Config::new(EhloName::new("mail.xx.com").expect("valid name"));
    // The seed session is cleartext; a real one would use STARTTLS (the default policy).
    config.tls = TlsMode::StartTls(TlsPolicy::Disabled);
    config.allow_plaintext_auth = true;
    config.credentials = Some(Credentials::password("123456@xx.com", "abcdefg").expect("no NUL"));
    config.auth_preference = vec![Mechanism::LOGIN];

    let now = Instant::ZERO;
    let mut client = Client::new(config, now);
    let envelope = Envelope::new(
        ReversePath::new("123456@xx.com").expect("valid sender"),
        [ForwardPath::new("654321@yy.org").expect("valid recipient")],
    );
    client.send(now, envelope).expect("session open");
    client.quit(now).expect("session open");

    let mut server = SERVER.iter();
    let mut out = Vec::new();
    loop {
        match client.poll_output(&mut out) {
            Output::Event(Event::MessageAccepted { reply, .. }) => {
                println!("# message accepted: {reply}");
            }
            Output::Event(_) => {}
            Output::SendBody { txn, .. } => {
                // The body has bare LF line ends, as the seed's Go client wrote them; the
                // core turns them into CRLF and would dot-stuff any line starting with '.'.
                client
                    .send_body(now, txn, BODY, true, &mut out)
                    .expect("asked for");
            }
            Output::StartTls(_) => unreachable!("TLS is disabled in this replay"),
            Output::Wait { .. } => {
                print_lines("C: ", &out);
                out.clear();
                match server.next() {
                    Some(bytes) => {
                        print_lines("S: ", bytes);
                        client.handle_input(now, bytes);
                    }
                    None => client.handle_eof(now),
                }
            }
            Output::Closed(error) => {
                print_lines("C: ", &out);
                match error {
                    None => println!("# session closed"),
                    Some(e) => println!("# session failed: {e}"),
                }
                break;
            }
        }
    }
}
