"""Everything that comes into the service desk from outside: email (parsing, IMAP mailboxes,
intake) and monitoring alerts (one module per vendor, the shared alert service, the API view)."""
