"""Model providers. Each turns one call into a `ProviderReply` or raises a `ProviderError`."""
