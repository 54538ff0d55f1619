//! One lookup as the planner would see it, through either backend:
//!
//! ```text
//! cargo run -p smtp-mx --example lookup -- adbit 127.0.0.1:53 example.org MX
//! cargo run -p smtp-mx --features hickory --example lookup -- \
//!     hickory 127.0.0.2:53 root.key _25._tcp.mx.example.org TLSA
//! ```

use std::net::SocketAddr;
use std::process::exit;
use std::time::Duration;

use smtp_mx::dns::{AdBit, Resolve};
use smtp_proto::mx::RType;

fn usage() -> ! {
    eprintln!(
        "usage: lookup adbit ADDR:PORT NAME TYPE | lookup hickory ADDR:PORT ANCHORS NAME TYPE"
    );
    exit(2)
}

fn rtype(s: &str) -> RType {
    match s.to_ascii_uppercase().as_str() {
        "MX" => RType::Mx,
        "TXT" => RType::Txt,
        "A" => RType::A,
        "AAAA" => RType::Aaaa,
        "TLSA" => RType::Tlsa,
        _ => usage(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = |s: &str| s.parse::<SocketAddr>().unwrap_or_else(|_| usage());
    let (resolver, name, ty): (Box<dyn Resolve>, &str, &str) = match args.as_slice() {
        [kind, server, name, ty] if kind == "adbit" => {
            (Box::new(AdBit::new(addr(server))), name, ty)
        }
        #[cfg(feature = "hickory")]
        [kind, server, anchors, name, ty] if kind == "hickory" => {
            let file = smtp_mx::dns::TrustAnchorFile::read(anchors.as_ref()).unwrap_or_else(|e| {
                eprintln!("{e}");
                exit(1)
            });
            let hickory = smtp_mx::dns::BlockingHickory::new(&[addr(server)], &file)
                .unwrap_or_else(|e| {
                    eprintln!("{e}");
                    exit(1)
                });
            (Box::new(hickory), name, ty)
        }
        _ => usage(),
    };
    match resolver.resolve(name, rtype(ty), Duration::from_secs(5)) {
        Ok(answer) => println!("{answer:?}"),
        Err(e) => {
            eprintln!("error: {e}");
            exit(1)
        }
    }
}
