//! RFC 5322 bytes as a message: the envelope derived from the header
//! ([`Parts::from_header`]).

use std::borrow::Cow;

use super::{IntoMessage, MessageError, Parts};

impl<'a> IntoMessage<'a> for &'a [u8] {
    fn into_mail_parts(self) -> Result<Parts<'a>, MessageError> {
        Parts::from_header(self)
    }
}

impl<'a, const N: usize> IntoMessage<'a> for &'a [u8; N] {
    fn into_mail_parts(self) -> Result<Parts<'a>, MessageError> {
        Parts::from_header(&self[..])
    }
}

impl<'a> IntoMessage<'a> for &'a Vec<u8> {
    fn into_mail_parts(self) -> Result<Parts<'a>, MessageError> {
        Parts::from_header(&self[..])
    }
}

impl<'a> IntoMessage<'a> for Vec<u8> {
    fn into_mail_parts(self) -> Result<Parts<'a>, MessageError> {
        Parts::from_header(self)
    }
}

impl<'a> IntoMessage<'a> for Cow<'a, [u8]> {
    fn into_mail_parts(self) -> Result<Parts<'a>, MessageError> {
        Parts::from_header(self)
    }
}

impl<'a> IntoMessage<'a> for &'a str {
    fn into_mail_parts(self) -> Result<Parts<'a>, MessageError> {
        Parts::from_header(self.as_bytes())
    }
}

impl<'a> IntoMessage<'a> for String {
    fn into_mail_parts(self) -> Result<Parts<'a>, MessageError> {
        Parts::from_header(self.into_bytes())
    }
}
