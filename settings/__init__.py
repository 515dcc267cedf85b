"""config.toml: its schema, validation with clear errors, and the secrets derived from it."""
