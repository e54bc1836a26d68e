"""The seed's interface, as its users run it: the README's command lines and Python blocks, its modules' APIs."""
