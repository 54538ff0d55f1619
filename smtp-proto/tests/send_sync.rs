//! The client, the session and what they hold are `Send + Sync`, so that the adapters'
//! connections and futures can be: checked at compile time (this test fails by not
//! building). Custom SASL mechanisms must therefore be `Send + Sync` too.

// The checks are type-checked, never called.
#![allow(dead_code)]

use std::sync::Arc;

use smtp_proto::session::Session;
use smtp_proto::{Client, Credentials, Error, Report, Sasl, SaslFactory};

fn assert_send_sync<T: Send + Sync>() {}

fn core_types_are_send_and_sync() {
    assert_send_sync::<Client>();
    assert_send_sync::<Error>();
    assert_send_sync::<Report>();
    assert_send_sync::<Credentials>();
    assert_send_sync::<Box<dyn Sasl>>();
    assert_send_sync::<Arc<dyn SaslFactory>>();
}

/// A session is as thread-safe as the adapter's error type it carries.
fn sessions_are_send_and_sync<E: Send + Sync>() {
    assert_send_sync::<Session<E>>();
}

/// The MX planner and what it hands out (feature `mx`, on for the tests) move between
/// threads too, so that an adapter's `deliver` future can.
fn mx_types_are_send_and_sync() {
    use smtp_proto::mx::{AttemptOutcome, DomainOutcome, Planner, PolicyGet, Step};
    assert_send_sync::<Planner>();
    assert_send_sync::<Step>();
    assert_send_sync::<AttemptOutcome>();
    assert_send_sync::<DomainOutcome>();
    assert_send_sync::<PolicyGet>();
}
