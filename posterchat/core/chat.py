"""The chat service: a message and its history in, the routed model's answer out, with the poster's tools between."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import lru_cache, partial
from typing import Any

from pydantic import ValidationError

from ..config import Settings, get_settings
from ..errors import InvalidInput
from ..poster import CheckOptions
from ..poster.assistant import PosterView
from ..providers import Router, Usage
from . import portal, preferences
from .context import trim_history
from .grounding import Grounding
from .guard import Guard, SentenceFilter
from .messages import ChatInput, ChatResult, HistoryMessage, check_limits, invalid
from .retry import RetryPolicy
from .tools import DesignTools
from .turn import Turn, TurnListener

MAX_TOOL_ROUNDS = 3  # model calls per turn when it asks for tools; the last one must answer


class ChatTurn:
    """One /chat exchange being answered: iterate stream(), then read result().

    The answer is the grounding's lead (measured facts, sourced reference, the poster's errors), then the model's
    prose less any sentence the guard finds contradicting them; tools the model calls run in between.
    """

    def __init__(self, service: ChatService, chat: ChatInput, request: dict[str, Any], *, policy: RetryPolicy,
                 truncated_turns: int, poster: PosterView | None, grounding: Grounding, tools: DesignTools | None):
        self.chat = chat
        self.truncated_turns = truncated_turns
        self.poster = poster
        self.grounding = grounding
        self.shown: list[str] = []  # the answer as the caller sees it
        self._tools = tools
        self._service = service
        self._policy = policy
        self._spent = Usage()  # earlier tool rounds
        # only an answer with something measured or sourced to stand by is held back a sentence at a time
        self._filter = SentenceFilter(Guard(grounding.facts, grounding.problems)) if grounding else None
        self.turn = service.turn(service.router.route(chat.model), request, policy, optional=frozenset({"tools"}))

    @property
    def model(self) -> str:
        return self.turn.model

    @property
    def provider(self):
        return self.turn.provider

    @property
    def messages(self) -> list[dict[str, Any]]:
        """What the model is sent."""
        return self.turn.request["messages"]

    @property
    def started(self) -> bool:
        return bool(self._spent.total_tokens) or self.turn.started

    async def stream(self) -> AsyncIterator[str]:
        """Yield the answer's text as it arrives, the lead once the model has begun (a model that fails before
        that fails the turn with nothing sent); the first item may be "" to say the answer has begun."""
        prose = self._prose()
        first = await anext(prose, None)
        lead = self.grounding.lead()
        yield self._show(lead + (first or ""))
        async for text in prose:
            if text:
                yield self._show(text)

    def _show(self, text: str) -> str:
        self.shown.append(text)
        return text

    async def _prose(self) -> AsyncIterator[str]:
        """The model's text, through the guard, running the tools it calls in between; "" while the guard waits
        for a sentence to end."""
        for round_ in range(MAX_TOOL_ROUNDS):
            async for text in self.turn.text():
                yield self._filter.feed(text) if self._filter else text
            calls = self.turn.calls()
            if not (calls and self._tools):
                break
            self._next_round(calls, last=round_ + 2 >= MAX_TOOL_ROUNDS)
        if self._filter and (rest := self._filter.flush()):
            yield rest

    def _next_round(self, calls: list[dict[str, Any]], last: bool) -> None:
        """Answer the model's tool calls; the last round offers no tools, forcing an answer."""
        request = self.turn.request
        messages = [*request["messages"], {"role": "assistant", "content": None, "tool_calls": calls},
                    *({"role": "tool", "tool_call_id": call["id"],
                       "content": self._tools.call(call["function"]["name"], call["function"]["arguments"])}
                      for call in calls)]
        request = {**request, "messages": messages}
        if last:
            request.pop("tools", None)
        self._spent += self.turn.usage()
        self.turn = self._service.turn([(self.turn.model, self.turn.provider)], request, self._policy)

    async def finish(self, on_token: Callable[[str], None] | None = None) -> ChatResult:
        """Generate the rest of the answer and return the result."""
        async for text in self.stream():
            if on_token and text:
                on_token(text)
        return self.result()

    def worst(self) -> Usage:
        """The most this turn can use: every round its tools allow, each at its first call's worst."""
        first = self.turn.worst()
        rounds = MAX_TOOL_ROUNDS if self._tools else 1
        return Usage(first.prompt_tokens * rounds, first.completion_tokens * rounds)

    def usage(self) -> Usage:
        """Tokens used so far, the current round's counted even if it was cut short."""
        return self._spent + self.turn.usage()

    def result(self) -> ChatResult:
        """The finished turn."""
        answer = "".join(self.shown).rstrip()
        history = [*self.chat.conversation_history,
                   HistoryMessage.model_construct(role="user", content=self.chat.message),
                   HistoryMessage.model_construct(role="assistant", content=answer)]
        return ChatResult.model_construct(
            response=answer, conversation_history=history, model_used=self.turn.model, conversation_id=None,
            message_id=None, truncated_turns=self.truncated_turns, usage=self.usage(),
            design_notes=self.poster.findings if self.poster else [], facts=self.grounding.facts,
            references=self.grounding.references, fallback_from=self.turn.fallback_from)


class ChatService:
    """Turns a message and its history into an answer from the routed model."""

    def __init__(self, settings: Settings | None = None, router: Router | None = None):
        self.settings = settings or get_settings()
        self.router = router or Router(self.settings)
        self.listeners: list[TurnListener] = []

    def policy(self, max_retries: int | None = None, retry_wait: float | None = None) -> RetryPolicy:
        """The retry policy from the settings, with a caller's own retries and first wait."""
        settings = self.settings
        return RetryPolicy(settings.max_retries if max_retries is None else max_retries,
                           settings.retry_wait if retry_wait is None else retry_wait, settings.max_retry_after,
                           on_retry=self._retried)

    def _retried(self, exc) -> None:
        for listener in self.listeners:
            listener.retried(exc)

    def turn(self, route, request: dict[str, Any], policy: RetryPolicy, optional: frozenset[str] = frozenset()) -> Turn:
        """A model call on `route` with the server's timeout."""
        return Turn(route, request, policy=policy, timeout=self.settings.request_timeout,
                    listeners=tuple(self.listeners), longest=self.settings.max_tokens_cap, optional=optional)

    def start(self, chat: ChatInput, *, prefs: preferences.Preferences | None = None,
              policy: RetryPolicy | None = None, poster: PosterView | None = None, unread_turns: int = 0) -> ChatTurn:
        """Check the turn against the limits, fit it into the model's context and prepare it."""
        check_limits(chat, self.settings)
        chat, instructions = preferences.apply(chat, prefs, self.settings)
        model, provider = self.router.resolve(chat.model)
        chat = chat.model_copy(update={"model": model})
        grounding = self.ground(chat.message, poster)
        system = chat.system_message if chat.system_message is not None else self.settings.system_message
        for extra in (instructions, poster.summary() if poster else None):
            if extra:
                system = f"{system}\n\n{extra}"
        fit = partial(trim_history, chat.conversation_history, context_window=provider.context_window(model),
                      reserved=chat.max_tokens, count=lambda text: provider.count_tokens(text, model))
        try:  # the reference notes go in when they fit; the answer's lead and guard work without them
            grounded = f"{system}\n\n{grounding.context()}" if grounding else system
            kept, truncated = fit(fixed=[grounded, chat.message])
            system = grounded
        except InvalidInput:
            kept, truncated = fit(fixed=[system, chat.message])
        request: dict[str, Any] = {
            "model": model, "temperature": chat.temperature, "max_tokens": chat.max_tokens,
            "messages": [{"role": "system", "content": system}, *({"role": m.role, "content": m.content} for m in kept),
                         {"role": "user", "content": chat.message}],
        }
        tools = None
        if provider.supports_tools and (poster or self.settings.grounding):
            tools = DesignTools(poster, self.settings.viewing_distance_m)
            request["tools"] = tools.definitions
        return ChatTurn(self, chat, request, policy=policy or self.policy(), truncated_turns=truncated + unread_turns,
                        poster=poster, grounding=grounding, tools=tools)

    def ground(self, question: str, poster: PosterView | None = None) -> Grounding:
        """What posterchat measures and knows about the question (nothing when grounding is off)."""
        if not self.settings.grounding:
            return Grounding()
        return Grounding.gather(question, poster.findings if poster else [], self.settings.viewing_distance_m)

    def measure_poster(self, poster: Any) -> PosterView:
        """Check a poster with the configured viewing distance; an invalid one is InvalidInput."""
        try:
            return PosterView.measure(poster, CheckOptions(viewing_distance_m=self.settings.viewing_distance_m))
        except ValidationError as exc:
            raise invalid(exc, "poster") from None

    async def complete(self, message: str, history: Any = None, *, on_token: Callable[[str], None] | None = None,
                       max_retries: int | None = None, retry_wait: float | None = None, **fields) -> ChatResult:
        """Run a whole turn for Python callers: the fields are ChatInput's, validated here."""
        chat = ChatInput.parse(message=message, conversation_history=history or [], **fields)
        poster = self.measure_poster(chat.poster) if chat.poster else None
        turn = self.start(chat, policy=self.policy(max_retries, retry_wait), poster=poster)
        return await turn.finish(on_token)


@lru_cache(maxsize=1)
def default_service() -> ChatService:
    """The process-wide service used by chat_with_model and the CLI."""
    service = ChatService()
    portal.close_at_exit(service.router.aclose)
    return service


def chat_with_model(
    user_message: str,
    conversation_history: list[dict[str, str]] | None = None,
    model: str | None = None,
    temp: float = 0.7,
    max_retries: int = 3,
    retry_wait: float = 1.0,
    *,
    max_tokens: int | None = None,
    system_message: str | None = None,
    poster: dict[str, Any] | None = None,
    on_token: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Send one message with its history; return the spec's {response, conversation_history, model_used}."""
    if not isinstance(user_message, str):
        raise InvalidInput("message must be a non-empty string", param="message")

    async def run() -> ChatResult:
        return await default_service().complete(
            user_message, conversation_history, model=model, temperature=temp, max_tokens=max_tokens,
            system_message=system_message, poster=poster, on_token=on_token, max_retries=max_retries,
            retry_wait=retry_wait)

    return portal.run(run).model_dump(mode="json", exclude={"conversation_id", "message_id"})
