//! A fake recursive resolver: a UDP socket (and a TCP listener on the same port)
//! answering each query with what the test's handler makes of it, encoded with
//! hickory-proto.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::sync::{Arc, Mutex};
use std::thread;

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::{Name, RData, Record};

/// What the fake resolver received.
pub(crate) type Log = Arc<Mutex<Vec<Message>>>;

/// Answers on UDP at `ip` with the datagrams `udp` makes of each query, and on TCP
/// (same port) with the message `tcp` makes. Gives the address and the queries log.
pub(crate) fn fake(
    ip: IpAddr,
    udp: impl Fn(&Message) -> Vec<Vec<u8>> + Send + 'static,
    tcp: impl Fn(&Message) -> Vec<u8> + Send + 'static,
) -> (SocketAddr, Log) {
    let socket = UdpSocket::bind((ip, 0)).unwrap();
    let addr = socket.local_addr().unwrap();
    let listener = TcpListener::bind(addr).unwrap();
    let log = Log::default();
    let udp_log = log.clone();
    thread::spawn(move || {
        let mut buf = [0; 4096];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            let query = Message::from_vec(&buf[..n]).unwrap();
            udp_log.lock().unwrap().push(query.clone());
            for datagram in udp(&query) {
                socket.send_to(&datagram, from).unwrap();
            }
        }
    });
    let tcp_log = log.clone();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut len = [0; 2];
            stream.read_exact(&mut len).unwrap();
            let mut buf = vec![0; usize::from(u16::from_be_bytes(len))];
            stream.read_exact(&mut buf).unwrap();
            let query = Message::from_vec(&buf).unwrap();
            tcp_log.lock().unwrap().push(query.clone());
            let answer = tcp(&query);
            let mut framed = u16::try_from(answer.len()).unwrap().to_be_bytes().to_vec();
            framed.extend(answer);
            stream.write_all(&framed).unwrap();
        }
    });
    (addr, log)
}

/// The response skeleton for `query`: same ID and question, `rcode`, AD as given.
pub(crate) fn response(query: &Message, rcode: ResponseCode, ad: bool) -> Message {
    let mut m = Message::response(query.metadata.id, OpCode::Query);
    m.metadata.response_code = rcode;
    m.metadata.authentic_data = ad;
    m.metadata.recursion_available = true;
    m.add_queries(query.queries.clone());
    m
}

pub(crate) fn record(name: &str, data: RData) -> Record {
    Record::from_rdata(Name::from_ascii(name).unwrap(), 300, data)
}

pub(crate) fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

/// The question's name.
pub(crate) fn qname(query: &Message) -> String {
    query.queries[0].name().to_ascii()
}
