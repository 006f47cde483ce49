"""Who is asking and what they may do: accounts with roles, sign-in sessions, API tokens
(`accounts`), and the principal of the request in hand (`roles`)."""
