"""Channel adapters: each translates one platform to the core's Inbound/Press/Outbound."""
