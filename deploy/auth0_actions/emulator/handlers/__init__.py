"""The local tenant's thin handlers: parse a request, call a backend, render the answer."""
