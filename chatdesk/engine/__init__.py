"""The engines behind the ChatEngine protocol, a reply being generated, and the prompt caches."""
