//! mail-builder's `MessageBuilder` as a message: written once into a buffer, then the
//! envelope derived from its header as for bytes ([`Parts::from_header`]).

use mail_builder::MessageBuilder;

use super::{IntoMessage, MessageError, Parts};

impl<'a> IntoMessage<'a> for MessageBuilder<'_> {
    fn into_mail_parts(self) -> Result<Parts<'a>, MessageError> {
        let content = self
            .write_to_vec()
            .map_err(|e| MessageError::Build(e.to_string()))?;
        Parts::from_header(content)
    }
}
