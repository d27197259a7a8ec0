"""Draw chatdesk's icon (a speech bubble on a rounded square) into chatdesk/assets/icon.png."""

from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 256
SCALE = 4  # draw large, then shrink: smooth edges
BACKGROUND = (67, 56, 202)  # indigo
BUBBLE = (255, 255, 255)


def draw_icon() -> Image.Image:
    """The icon at SIZE x SIZE pixels."""
    big = SIZE * SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=56 * SCALE, fill=BACKGROUND)
    s = SCALE
    draw.rounded_rectangle((48 * s, 56 * s, 208 * s, 168 * s), radius=36 * s, fill=BUBBLE)
    draw.polygon([(84 * s, 160 * s), (72 * s, 208 * s), (124 * s, 164 * s)], fill=BUBBLE)
    for x in (92, 128, 164):
        draw.ellipse(((x - 11) * s, 101 * s, (x + 11) * s, 123 * s), fill=BACKGROUND)
    return image.resize((SIZE, SIZE), Image.LANCZOS)


if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "chatdesk" / "assets" / "icon.png"
    draw_icon().save(target, optimize=True)
    print(target)
