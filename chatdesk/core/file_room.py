"""How much of the model's context attached files take, and whether they fit. No gradio."""

from __future__ import annotations

from chatdesk.core.attachments import Attachment, with_files
from chatdesk.core.conversation import Conversation
from chatdesk.core.host import ModelHost
from chatdesk.errors import UserError


def file_tokens(host: ModelHost, attachment: Attachment) -> int:
    """The tokens one file adds to a message (0 with no model loaded)."""
    engine = host.engine
    if engine is None:
        return 0
    with_file = engine.count_tokens([{"role": "user", "content": with_files("", [attachment])}])
    return max(0, with_file - engine.count_tokens([{"role": "user", "content": ""}]))


def room_for_files(host: ModelHost, conversation: Conversation | None, text: str) -> int | None:
    """The tokens left for files in a message of `text` (older turns are left out as needed; the system
    prompt and room for the reply are not); None with no model loaded."""
    engine = host.engine
    if engine is None:
        return None
    budget = engine.context_length - min(host.params.max_tokens, engine.context_length // 2)
    system = conversation.system_prompt if conversation is not None else host.system_prompt
    prompt = [{"role": "system", "content": system}] if system else []
    return budget - engine.count_tokens(prompt + [{"role": "user", "content": text}])


def check_room(host: ModelHost, conversation: Conversation | None, text: str,
               files: list[tuple[Attachment, int]]) -> None:
    """UserError saying how much fits when the files (each with its tokens) leave no room in the context."""
    room = room_for_files(host, conversation, text)
    needed = sum(tokens for _, tokens in files)
    if room is None or needed <= room:
        return
    room = max(room, 0)
    too_big = [(a, tokens) for a, tokens in files if tokens > room]
    if len(files) == 1 or len(too_big) == 1:
        attachment, tokens = (too_big or files)[0]
        raise UserError(f"{attachment.name} has {tokens:,} tokens; this chat has room for {room:,}. "
                        "Attach a shorter file or part of it, or load a model with a longer context.")
    raise UserError(f"These {len(files)} files have {needed:,} tokens together; this chat has room for {room:,}. "
                    "Remove some of them.")


def tokens_with(host: ModelHost, conversation: Conversation | None, text: str, file_tokens_total: int) -> int:
    """The tokens the chat would take with the next message of `text` plus files of `file_tokens_total`."""
    engine = host.engine
    if engine is None:
        return 0
    if conversation is None:
        conversation = Conversation("", system_prompt=host.system_prompt)
    used = conversation.tokens_used if conversation.messages else engine.count_tokens(conversation.prompt())
    return used + engine.count_tokens([{"role": "user", "content": text}]) + file_tokens_total
