"""What every chat platform needs alike: a long text cut into messages it accepts."""


def split_text(text: str, limit: int) -> list[str]:
    """Cut a long text into messages, at paragraph, then line, then word boundaries."""
    chunks = []
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind("\n\n"), 0) or max(window.rfind("\n"), 0) or window.rfind(" ")
        if cut <= 0:
            cut = limit
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n ")
    chunks.append(text)
    return [chunk for chunk in chunks if chunk] or [""]
