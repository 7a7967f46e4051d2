"""The client's own copy and voice: what the client is given (the plan summary in their language) and how
they answer back (feedback without an account). Nothing here shows a client another client's data, an
identity code or a staff note."""
