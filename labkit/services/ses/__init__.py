"""SES: email an application sends lands in the sandbox mailbox (:mod:`.patch`)."""
