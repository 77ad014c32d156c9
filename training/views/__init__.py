"""Training pages: the referrer's own (`referrer`), a delegate's (`delegate`), and the
delegate's queue and LMS import (`queue`)."""
