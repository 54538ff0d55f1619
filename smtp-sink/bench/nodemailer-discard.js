// Nodemailer's smtp-server as a discarding sink, the reference for smtp-sink's discarding
// mode (vs_nodemailer.py): no TLS, no AUTH, no reverse lookup, no logging; every message
// is read to its end and dropped. Prints "PORT <n>".
const { SMTPServer } = require("smtp-server");

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ["STARTTLS", "AUTH"],
  disableReverseLookup: true,
  logger: false,
  onData(stream, _session, callback) {
    stream.on("end", () => callback(null));
    stream.resume();
  },
});
server.listen(0, "127.0.0.1", () => {
  console.log("PORT " + server.server.address().port);
});
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
