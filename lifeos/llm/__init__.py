"""The LLM router: aliases → providers (in-process local models, Ollama, OpenAI-compatible
servers), structured output, retries, fallbacks, budgets and the cost ledger."""

from lifeos.llm.router import ChatResult, Router, get_router

__all__ = ["ChatResult", "Router", "get_router"]
