"""Code every service shares: settings, errors, auth, databases, HTTP, logging."""
