"""The email channel: IMAP in, SMTP out."""
