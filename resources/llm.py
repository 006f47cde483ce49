"""The LLM router as a Dagster resource: calls made inside a run carry the run id in the ledger
(and count against the per-run budget), and the account that started the run (its
`lifeos/user` tag) as their actor."""

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from lifeos import tracing
from lifeos.ledger import run_id_var
from lifeos.llm.router import Router, get_router
from lifeos.security.roles import USER_TAG, Principal, Role, principal_var


# Its value is the resource itself, which dagster's generic cannot say (dagster#32027).
class LLMResource(ConfigurableResource):  # type: ignore[type-arg]
    database_url: str = Field(description="library DB, where the ledger lives")
    _run_id: str | None = PrivateAttr(default=None)
    _user: str | None = PrivateAttr(default=None)
    _tags: dict[str, str] = PrivateAttr(default_factory=dict)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._run_id = context.run.run_id if context.run else None
        self._tags = dict(context.run.tags) if context.run else {}
        self._user = self._tags.get(USER_TAG)

    @contextmanager
    def router(self) -> Iterator[Router]:
        token = run_id_var.set(self._run_id)
        # The run was allowed when it was started; what it writes names who started it.
        who = principal_var.set(
            Principal(self._user, Role.admin, "run") if self._user else principal_var.get()
        )
        try:
            # the run's model calls join the trace of the request that started it
            with tracing.in_run(self._tags, self._run_id):
                yield get_router(self.database_url)
        finally:
            principal_var.reset(who)
            run_id_var.reset(token)
