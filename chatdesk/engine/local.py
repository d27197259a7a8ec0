"""The local engine: load a GGUF, stream chat replies with stats, cancel, fit the context, compute ahead.

With llama_state.py (what the model holds), the only modules that import llama_cpp.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from chatdesk.catalog import models
from chatdesk.engine.fitting import fit_turns
from chatdesk.engine.generation import Generation, SamplingParams, Stats
from chatdesk.engine.llama_state import HeldState, state_cache
from chatdesk.engine.prompt_cache import shared_prefix
from chatdesk.errors import ModelError

log = logging.getLogger(__name__)

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@dataclass(frozen=True)
class _Prepare:
    start: list[int]  # how the next message's prompt starts: worth a saved state
    typed: list[int]  # the whole prompt were the message sent as typed so far: computed, not saved
    done: threading.Event
    private: bool = False  # a temporary chat's: its state is kept in RAM only


DEFAULT_PROMPT_CACHE = 512 << 20  # bytes of saved model state kept in RAM, least recently used dropped first
DEFAULT_DISK_CACHE = 2 << 30  # bytes of saved model state kept on disk (with a disk_cache folder)
_NEXT_MESSAGE = "\ue000chatdesk-next-message\ue000"  # stands for a message not yet written
TOKENIZED_PROMPTS = 16  # prompts whose tokens are kept
AHEAD_BATCH = 64  # tokens computed ahead at a time: a reply asked for meanwhile waits at most for one batch


def default_threads() -> int:
    """Threads for generation: every core but one on big machines, all of them on small ones."""
    cores = os.cpu_count() or 2
    return cores if cores <= 4 else cores - 1


class LocalEngine:
    """One loaded model; generations run one at a time."""

    def __init__(self, model_path: str | Path, *, n_ctx: int = 4096, n_threads: int | None = None,
                 gpu_layers: int = 0, prompt_cache_bytes: int = DEFAULT_PROMPT_CACHE,
                 disk_cache: Path | None = None, disk_cache_bytes: int = DEFAULT_DISK_CACHE):
        self.info = _check_model_file(Path(model_path))
        self.model_path = self.info.path
        self.model_name = self.model_path.stem
        self._lock = threading.Lock()
        self._llm = _load_llama(self.model_path, n_ctx, n_threads or default_threads(), gpu_layers)
        # Conversations switched away from and back, or reopened after a restart, are not computed again.
        self._state = HeldState(self._llm, state_cache(self.info, prompt_cache_bytes, disk_cache, disk_cache_bytes))
        self.context_length = self._llm.n_ctx()
        self._formatter, self._stop = self._chat_formatter()
        # One long-lived thread computes every reply: llama.cpp's OpenMP workers belong to the thread that
        # starts them, and a new thread per reply measured a fifth slower at writing tokens.
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._open = threading.Lock()  # close() waits for tokenizing and queueing; after it they are refused
        self._closed = False
        self._current: Generation | None = None  # the reply being computed, for close() to stop
        self._template_errors: set[str] = set()  # those logged already
        # Recent prompts, least recently used first: a prompt is tokenized while typed, checked, then sent,
        # and 2,500 tokens take 8 ms here.
        self._tokenized: OrderedDict[str, list[int]] = OrderedDict()
        threading.Thread(target=self._work, name="chatdesk-generation", daemon=True).start()

    def chat(
        self,
        messages: Sequence[dict],
        params: SamplingParams = SamplingParams(),
        *,
        continue_reply: bool = False,
        private: bool = False,
    ) -> Generation:
        """Start a reply to `messages` (or continue their last, assistant, message)."""
        prompt, dropped = self.fit(messages, params.max_tokens, continue_reply=continue_reply)
        seed = params.seed if params.seed is not None else random.randrange(2**31)
        generation = Generation()
        generation.prompt_tokens = len(prompt)
        with self._open:
            self._refuse_if_closed()
            self._jobs.put((generation, prompt, dropped, params, seed, time.perf_counter(), private))
        return generation

    def prepare(self, messages: Sequence[dict], reply_budget: int, draft: str = "", *,
                private: bool = False) -> threading.Event:
        """Compute ahead, while the user reads and types, the prompt a next message to `messages` starts with;
        and, given the `draft` of that message typed so far, the whole prompt were it sent as it is.

        Sent unchanged, its reply then starts at once; changed, it computes from the first token that
        differs. It is background work: a reply asked for meanwhile goes first, and computes whatever is
        missing. The event returned is set when the work is done or given up.
        """
        done = threading.Event()
        try:
            typed = self.fit([*messages, {"role": "user", "content": draft}], reply_budget)[0] if draft else []
            job = _Prepare(self._next_message_start(messages, reply_budget), typed, done, private)
        except ModelError:  # a closed engine, or a template error (logged, and told when the message is sent)
            done.set()
            return done
        except Exception:  # an optional head start: skip it, but say why
            log.exception("could not compute the next prompt ahead")
            done.set()
            return done
        with self._open:
            if self._closed:
                done.set()
            else:
                self._jobs.put(job)
        return done

    def fit(
        self, messages: Sequence[dict], reply_budget: int, *, continue_reply: bool = False
    ) -> tuple[list[int], int]:
        """The prompt tokens that fit with `reply_budget` to spare, and how many messages were left out."""
        _kept, tokens, dropped = self._fit(messages, reply_budget, continue_reply)
        return tokens, dropped

    def _fit(self, messages: Sequence[dict], reply_budget: int, continue_reply: bool):
        """(messages kept, their prompt tokens, how many were left out) for a reply of `reply_budget` tokens."""
        tokens = lambda kept: self.tokenize_chat(kept, continue_reply=continue_reply)  # noqa: E731
        return fit_turns(messages, self.context_length, reply_budget, tokens, len)

    def tokenize_chat(self, messages: Sequence[dict], *, continue_reply: bool = False) -> list[int]:
        """The tokens of `messages` in the model's chat template, ready for a reply."""
        messages = [{"role": m["role"], "content": m["content"]} for m in messages]
        tail = ""
        if continue_reply and messages and messages[-1]["role"] == "assistant":
            tail = messages.pop()["content"]
        return self._tokenize(self._format(messages) + tail)

    def _format(self, messages: list[dict]) -> str:
        """`messages` in the model's chat template; ModelError saying why when the template refuses them."""
        try:
            return self._formatter(messages=messages).prompt
        except Exception as error:  # jinja2's errors, or whatever the template's own code raises
            if str(error) not in self._template_errors:  # once each: prompts are formatted at every keystroke
                self._template_errors.add(str(error))
                log.warning("the chat template of %s refused a conversation: %s", self.model_name, error)
            hint = (" This model may not take a system prompt: clear it in Settings, then send again."
                    if any(m["role"] == "system" for m in messages) else "")
            raise ModelError(f"The chat template of {self.model_name} refused this conversation "
                             f"({type(error).__name__}: {error}).{hint}") from error

    def _tokenize(self, text: str) -> list[int]:
        """Tokens of `text`; the same prompt is asked for twice per message (checked, then sent)."""
        with self._open:
            self._refuse_if_closed()
            if text in self._tokenized:
                self._tokenized.move_to_end(text)
            else:
                self._tokenized[text] = self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
                if len(self._tokenized) > TOKENIZED_PROMPTS:
                    self._tokenized.popitem(last=False)
            return list(self._tokenized[text])

    def _next_message_start(self, messages: Sequence[dict], reply_budget: int) -> list[int]:
        """The tokens every next user message to `messages` will be preceded by in the prompt."""
        upcoming = [*messages, {"role": "user", "content": _NEXT_MESSAGE}]
        kept, _tokens, _dropped = self._fit(upcoming, reply_budget, False)
        kept = [{"role": m["role"], "content": m["content"]} for m in kept]
        prompt = self._format(kept)
        return self._tokenize(prompt[: prompt.index(_NEXT_MESSAGE)])

    def count_tokens(self, messages: Sequence[dict]) -> int:
        """How many context tokens `messages` take."""
        return len(self.tokenize_chat(messages)) if messages else 0

    def close(self, *, wait_for_reply: bool = False) -> None:
        """Keep the model's state for the next start, release the model's memory and end the generation thread.

        The reply being computed is stopped (or, with `wait_for_reply`, finished first); replies still queued
        are refused with ModelError.
        """
        with self._open:
            if self._closed:
                return
            self._closed = True
            self._jobs.put(None)
            if self._current is not None and not wait_for_reply:
                self._current.cancel()
        with self._lock:
            self._state.save()
            self._llm.close()
        self._state.close()

    def _chat_formatter(self):
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self._llm.metadata.get("tokenizer.chat_template") or CHATML_TEMPLATE
        model = self._llm._model
        eos_id, bos_id = self._llm.token_eos(), self._llm.token_bos()
        eos = model.token_get_text(eos_id) if eos_id != -1 else ""
        bos = model.token_get_text(bos_id) if bos_id != -1 else ""
        formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        stop = [eos] if eos else []
        if template is CHATML_TEMPLATE:
            stop.append("<|im_end|>")
        return formatter, stop

    def _refuse_if_closed(self) -> None:
        if self._closed:  # the freed model would crash llama.cpp
            raise ModelError("This model was unloaded. Send the message again.")

    def _work(self) -> None:
        """The generation thread: compute the queued replies one after another until close()."""
        while (job := self._jobs.get()) is not None:
            if isinstance(job, _Prepare):
                self._run_ahead(job)
            else:
                self._run(*job)

    def _run_ahead(self, job: _Prepare) -> None:
        """Compute a prepared prompt unless a reply is waiting or the model was released; never raises."""
        try:
            if not self._waiting():
                with self._lock:
                    if not self._closed:  # else the model is freed: touching it would crash llama.cpp
                        self._compute_ahead(job.start, job.typed, job.private)
        except Exception:  # a failed head start costs nothing: the next reply computes its whole prompt
            log.exception("computing the next prompt ahead failed")
            self._llm.n_tokens = 0
        finally:
            job.done.set()

    def _waiting(self) -> bool:
        """Whether a reply (or close) is queued."""
        return not self._jobs.empty()

    def _compute_ahead(self, start: list[int], typed: list[int], private: bool = False) -> None:
        """Have the model hold `start` (saved), then `typed` if given, giving way as soon as a reply is asked for."""
        self._state.bring_in(typed or start)
        self._state.private = private
        if not self._evaluate_ahead(start):
            return
        self._state.save()
        if typed:  # it changes with every key: saving it would push other chats out of the cache
            self._evaluate_ahead(typed, worth_saving=False)

    def _evaluate_ahead(self, tokens: list[int], *, worth_saving: bool = True) -> bool:
        """Compute what the model lacks of `tokens`, a batch at a time; False if it gave way to a reply."""
        held = self._state.trim(shared_prefix(self._state.tokens(), tokens))
        for start in range(held, len(tokens), AHEAD_BATCH):
            if self._waiting():
                return False
            self._llm.eval(tokens[start:start + AHEAD_BATCH])
            self._state.unsaved = self._state.unsaved or worth_saving
        return not self._waiting()

    def _run(self, generation, prompt, dropped, params, seed, started, private=False) -> None:
        """Compute one reply on this thread, feeding `generation`; never raises."""
        try:
            with self._lock:
                with self._open:
                    self._refuse_if_closed()  # queued before close(): the model is freed by now
                    self._current = generation
                try:
                    stats = self._generate(generation, prompt, params, seed, started, private)
                finally:
                    self._current = None
            generation.finish(Stats(dropped_messages=dropped, **stats))
        except BaseException as error:  # handed to the reader, who reports it
            generation.fail(error)

    def _generate(self, generation, prompt, params, seed, started, private=False) -> dict:
        self._state.bring_in(prompt)
        self._state.private = private
        computed = self._compute_prompt(prompt, generation)
        first = None
        finish = "length"
        text = []
        if generation.cancelled:  # stopped while the prompt was read
            self._state.unsaved = True
            return self._stats(prompt, "", seed, "cancelled", started, None) | {"prompt_evaluated": computed}
        stream = self._llm.create_completion(
            prompt,
            max_tokens=params.max_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            top_k=params.top_k,
            min_p=params.min_p,
            repeat_penalty=params.repeat_penalty,
            seed=seed,
            stop=self._stop,
            stream=True,
        )
        try:
            for chunk in stream:
                choice = chunk["choices"][0]
                if choice["text"]:
                    first = first or time.perf_counter()
                    text.append(choice["text"])
                    generation.push(choice["text"])
                finish = choice.get("finish_reason") or finish
                if generation.cancelled:
                    finish = "cancelled"
                    break
        finally:
            stream.close()  # stops llama.cpp now, not when the generator is collected
            self._state.unsaved = True
        return self._stats(prompt, "".join(text), seed, finish, started, first) | {"prompt_evaluated": computed}

    def _compute_prompt(self, prompt: list[int], generation: Generation) -> int:
        """Have the model hold exactly `prompt`, ready to sample its reply; how many tokens that computed
        (fewer when `generation` was stopped meanwhile).

        Nothing is computed for a prompt computed ahead as it was typed, nor for a retry: the first token's
        probabilities, kept from the reply before, are put back in place of the reply that followed.
        """
        llm, state = self._llm, self._state
        kept = shared_prefix(state.tokens(), prompt)
        if kept == len(prompt) == llm.n_tokens and not llm._requires_eval:
            computed = 0
        elif kept == len(prompt) and state.trim(kept) == kept and state.put_back_first_logits(prompt):
            llm._requires_eval, computed = False, 0  # the old reply is dropped
        else:
            kept = state.trim(min(kept, len(prompt) - 1))  # at least the last token is computed, for its logits
            self._read(prompt, kept, generation)
            computed = llm.n_tokens - kept
        if llm.n_tokens == len(prompt):
            state.keep_first_logits(prompt)
        return computed

    def _read(self, prompt: list[int], start: int, generation: Generation) -> None:
        """Compute `prompt` from its token `start` on: in one go when it fits in a batch; else a batch at a time,
        reporting to `generation` after each, and giving up as soon as it is stopped."""
        llm, total = self._llm, len(prompt)
        if total - start <= llm.n_batch:  # llm.eval computes it as one batch, as it always did
            llm.eval(prompt[start:])
            return
        generation.report_reading(start, total)
        for at in range(start, total, llm.n_batch):
            if generation.cancelled:
                return
            llm.eval(prompt[at:at + llm.n_batch])
            generation.report_reading(llm.n_tokens, total)

    def _stats(self, prompt, text, seed, finish, started, first) -> dict:
        ended = time.perf_counter()
        completion = len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)) if text else 0
        decoding = ended - first if first else 0.0
        return {
            "model": self.model_name,
            "seed": seed,
            "prompt_tokens": len(prompt),
            "completion_tokens": completion,
            "time_to_first_token": first - started if first else None,
            "tokens_per_second": (completion - 1) / decoding if completion > 1 and decoding > 0 else None,
            "total_seconds": ended - started,
            "finish_reason": finish,
        }


def _check_model_file(path: Path) -> "models.GGUFInfo":
    """Refuse, with a clear message, a file llama.cpp would crash or choke on."""
    try:
        info = models.inspect_gguf(path)
    except models.ModelFileError as error:
        raise ModelError(str(error)) from error
    fits, available = models.fits_in_memory(info.file_size)
    if not fits:
        raise ModelError(
            f"{path.name} needs about {info.file_size / 2**30:.1f} GiB of memory, "
            f"but only {available / 2**30:.1f} GiB is available. Pick a smaller model."
        )
    return info


def _load_llama(path: Path, n_ctx: int, n_threads: int, gpu_layers: int):
    """Load the weights; llama.cpp's own failures become ModelError."""
    from llama_cpp import Llama

    try:
        return Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            n_gpu_layers=gpu_layers,
            verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as error:
        raise ModelError(f"llama.cpp could not load {path.name}: {error}") from error
