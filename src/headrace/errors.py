"""Every error headrace raises, in one tree.

    HeadraceError
    ├── ConfigError                 bad settings or workspace config
    ├── DefinitionError             a pipeline definition is invalid (.problems lists them all)
    │   └── CycleError
    ├── ParameterError              a bad parameter assignment at submit
    │   ├── UnknownParameterError   no such parameter (the message lists the valid ones)
    │   └── ParameterTypeError      a value that does not fit the declared type
    ├── ScheduleError               a schedule or recurrence is invalid (.field names the culprit)
    ├── EventError                  a webhook, trigger or inbound event is invalid (.field names the culprit)
    ├── NotFoundError               an id or name that does not exist (.kind, .key)
    ├── AlreadyExistsError          a unique name or key taken (.kind, .key)
    ├── ConflictError               the object is in a state that forbids the call
    │   └── DisabledError           a disabled published pipeline or endpoint was submitted to
    ├── StoreError                  the metadata store failed
    │   └── StoreFullError          its disk (or quota) is full: nothing was written; retry once freed
    ├── DatastoreError              datastore I/O failed (.uri)
    │   ├── PathEscapeError         a relative path leaves the datastore root
    │   └── DatasetError            a dataset's files changed, vanished, match nothing or do not parse
    ├── RunError                    a run went wrong
    │   ├── StepFailedError         a step failed (.step, .exit_code, .stderr_tail)
    │   └── RunTimeoutError         waiting for a run took too long
    ├── ComputeError                a compute target could not run a step
    │   ├── ComputeTargetException  Azure ML's name: a compute target is unknown or cannot be made
    │   └── EnvironmentBuildError   a step's environment cannot be built (the resolver's message, or the
    │                               Python versions installed when the one asked for is not)
    ├── ModelError                  a model registration, stage or alias is invalid (a path not in the run's files...)
    ├── FlowError                   a prompt flow went wrong
    │   ├── FlowDefinitionError     flow.yaml is invalid (.problems lists them all, each naming the node)
    │   ├── FlowInputError          a flow input is missing or does not fit its type (.input)
    │   ├── FlowNodeError           a node failed while running (.node; the cause is chained)
    │   ├── TokenBudgetError        a prompt cannot fit the model's context (.node, .tokens, .limit)
    │   └── LLMError                the model API failed, after retries when they apply (.status, .node)
    └── RemoteError                 a headrace server answered with an unmappable error (.url, .status, .code)
        ├── ServerUnavailableError  no answer: the server is down, the URL is wrong, or it timed out
        └── AuthError               401: the token is missing, unknown or revoked
            └── AccessDeniedError   403: the token's role is too low for the call

Errors carry the fields a caller needs to act, and a message that says what to do next.
"""

from __future__ import annotations

from collections.abc import Iterable


class HeadraceError(Exception):
    """Root of every error headrace raises. Not meant to be subclassed by users."""


class ConfigError(HeadraceError):
    """Settings or a workspace configuration file are invalid."""


class DefinitionError(HeadraceError):
    """A pipeline definition has one or more problems.

    Attributes:
        problems: every problem found, each naming the step and the fix.
    """

    def __init__(self, problems: Iterable[str]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"the pipeline is invalid ({len(self.problems)} problem(s)):\n{lines}")


class CycleError(DefinitionError):
    """The steps' data dependencies form a cycle."""


class ParameterError(HeadraceError):
    """A pipeline parameter assignment is unknown or of the wrong type.

    Attributes:
        parameter: the offending parameter name.
    """

    def __init__(self, message: str, parameter: str | None = None):
        self.parameter = parameter
        super().__init__(message)


class UnknownParameterError(ParameterError):
    """A submitted parameter name the pipeline does not declare."""


class ParameterTypeError(ParameterError):
    """A submitted value that cannot be converted to the parameter's declared type."""


class ScheduleError(HeadraceError):
    """A schedule, recurrence, cron expression or parameter expression is invalid.

    Attributes:
        field: the offending argument ("interval", "time_zone", "cron", ...), when one is to blame.
    """

    def __init__(self, message: str, field: str | None = None):
        self.field = field
        self.target = field
        super().__init__(f"{field}: {message}" if field else message)


class EventError(HeadraceError):
    """A webhook subscription, a trigger or an inbound event is invalid (unknown event name, refused URL,
    an event body missing a field the trigger's mapping reads).

    Attributes:
        field: the offending argument or event field, when one is to blame.
    """

    def __init__(self, message: str, field: str | None = None):
        self.field = field
        self.target = field
        super().__init__(f"{field}: {message}" if field else message)


class NotFoundError(HeadraceError):
    """An object looked up by id or name does not exist.

    Attributes:
        kind: what was looked up ("run", "experiment", "datastore", ...).
        key: the id or name that was not found.
    """

    def __init__(self, kind: str, key: str, hint: str = ""):
        self.kind = kind
        self.key = key
        msg = f"{kind} {key!r} not found"
        super().__init__(f"{msg}; {hint}" if hint else msg)


class AlreadyExistsError(HeadraceError):
    """A unique name or key is already taken."""

    def __init__(self, kind: str, key: str, hint: str = ""):
        self.kind = kind
        self.key = key
        msg = f"{kind} {key!r} already exists"
        super().__init__(f"{msg}; {hint}" if hint else msg)


class ConflictError(HeadraceError):
    """The object's current state forbids the call (e.g. cancelling a finished run)."""


class DisabledError(ConflictError):
    """A disabled published pipeline or pipeline endpoint cannot take submissions."""


class StoreError(HeadraceError):
    """The metadata store failed (connection lost, migration missing, ...)."""


class StoreFullError(StoreError):
    """The metadata store's disk (or quota) is full. The write was rolled back; it succeeds again
    once space is freed."""


class DatastoreError(HeadraceError):
    """Reading or writing a datastore failed.

    Attributes:
        uri: the location involved, when known.
    """

    def __init__(self, message: str, uri: str | None = None):
        self.uri = uri
        super().__init__(f"{message} ({uri})" if uri else message)


class PathEscapeError(DatastoreError):
    """A relative path would leave the datastore's root folder."""


class DatasetError(DatastoreError):
    """A dataset cannot be used as defined: a file of its version changed or vanished, its paths match
    nothing, or a tabular file does not parse. The message names the dataset and the file."""


class RunError(HeadraceError):
    """A pipeline run did not finish as asked."""

    def __init__(self, message: str, run_id: str | None = None):
        self.run_id = run_id
        super().__init__(message)


class StepFailedError(RunError):
    """A step of a pipeline run failed.

    Attributes:
        step: the failing step's name.
        exit_code: its process exit code (None if it never started).
        stderr_tail: the last lines it wrote to stderr.
    """

    def __init__(self, run_id: str, step: str, exit_code: int | None, stderr_tail: str, detail: str = ""):
        self.step = step
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail
        head = f"step {step!r} of run {run_id} failed"
        if exit_code is not None:
            head += f" with exit code {exit_code}"
        if detail:
            head += f": {detail}"
        tail = f"\n--- last lines of stderr ---\n{stderr_tail}" if stderr_tail.strip() else ""
        super().__init__(head + tail, run_id=run_id)


class RunTimeoutError(RunError):
    """Waiting for a run exceeded the given timeout."""


class ComputeError(HeadraceError):
    """A compute target could not prepare or launch a step."""


class ComputeTargetException(ComputeError):  # noqa: N818 - Azure ML's name, caught by migrated code
    """A compute target does not exist or cannot be created as asked (Azure ML's exception name)."""


class EnvironmentBuildError(ComputeError):
    """An environment could not be built: its packages do not resolve or install, or its Python is missing."""


class ModelError(HeadraceError):
    """A model cannot be registered, moved to a stage or aliased as asked: an unknown stage, a path that
    is not among the run's files (the message lists them), a bad name."""


class FlowError(HeadraceError):
    """A prompt flow could not be loaded or run."""


class FlowDefinitionError(FlowError):
    """A flow folder or its ``flow.yaml`` has one or more problems.

    Attributes:
        problems: every problem found, each naming the node (or input/output) and the fix.
    """

    def __init__(self, problems: Iterable[str], flow: str = "flow.yaml"):
        self.problems = list(problems)
        self.flow = flow
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{flow} is invalid ({len(self.problems)} problem(s)):\n{lines}")


class FlowInputError(FlowError):
    """A flow input is missing, unknown or of the wrong type.

    Attributes:
        input: the input's name.
    """

    def __init__(self, message: str, input: str | None = None):  # noqa: A002
        self.input = input
        super().__init__(f"input {input!r}: {message}" if input else message)


class FlowNodeError(FlowError):
    """A node raised while running; the original exception is chained as ``__cause__``.

    Attributes:
        node: the node's name.
    """

    def __init__(self, node: str, message: str):
        self.node = node
        super().__init__(f"node {node!r} failed: {message}")


class TokenBudgetError(FlowError):
    """Even the minimal prompt (every trimmable block cut) does not fit the model's context.

    Raised before any API call. Attributes: ``node``, ``tokens`` (the minimal prompt's count) and
    ``limit`` (the tokens available to the prompt).
    """

    def __init__(self, node: str, tokens: int, limit: int, detail: str = ""):
        self.node = node
        self.tokens = tokens
        self.limit = limit
        msg = (f"node {node!r}: the prompt needs {tokens} tokens even with every trimmable block cut, "
               f"but only {limit} are available")
        super().__init__(f"{msg} ({detail})" if detail else msg)


class LLMError(FlowError):
    """The model's API failed (after retries for 429/5xx and timeouts).

    Attributes:
        status: the HTTP status, or None when there was no answer.
        node: the LLM node, when known.
    """

    def __init__(self, message: str, status: int | None = None, node: str | None = None):
        self.status = status
        self.node = node
        super().__init__(f"node {node!r}: {message}" if node else message)


class RemoteError(HeadraceError):
    """Talking to a headrace server failed in a way no other class describes (a 5xx, a proxy's page).

    The HTTP client raises the usual classes (``NotFoundError``, ``ParameterError``...) for the errors
    a server reports in its ``{"Error": {"Code", "Message"}}`` body; this branch is for the rest.

    Attributes:
        url: the server's base URL.
        status: the HTTP status, or None when there was no answer.
        code: the ``Error.Code`` of the body, when there was one.
    """

    def __init__(self, message: str, url: str | None = None, status: int | None = None, code: str | None = None):
        self.url = url
        self.status = status
        self.code = code
        super().__init__(message)


class ServerUnavailableError(RemoteError):
    """The server did not answer: it is not running, the URL is wrong, or the call timed out."""


class AuthError(RemoteError):
    """The server refused the token (401): missing, unknown or revoked."""


class AccessDeniedError(AuthError):
    """The token is valid but its role is too low for the call (403)."""
