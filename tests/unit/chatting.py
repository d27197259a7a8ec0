"""Steps of a chat with the scripted engine, shared by the core's tests."""


def chat(session, engine, conversation, text, reply):
    """Send `text`, answered with the pieces of `reply`; every update."""
    engine.enqueue(reply)
    return list(session.submit(conversation, text))


def texts(conversation):
    """(role, text) of each message on screen."""
    return [(m.role, m.content) for m in conversation.messages]
