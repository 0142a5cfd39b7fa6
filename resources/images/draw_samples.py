"""Draws the bundled sample images (run once; the PNGs are committed).

digit7.png   28x28 grayscale handwritten-style 7, like an MNIST digit
shapes.png   64x64 RGB: a red disc, a green square, a blue triangle on black
stripes.png  48x48 grayscale diagonal stripes and a grid, for stride/dilation effects
"""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).parent


def digit7() -> Image.Image:
    big = Image.new("L", (112, 112), 0)
    d = ImageDraw.Draw(big)
    d.line([(26, 26), (84, 22)], fill=255, width=11)
    d.line([(84, 22), (50, 94)], fill=255, width=11)
    d.line([(48, 58), (76, 57)], fill=200, width=7)
    big = big.filter(ImageFilter.GaussianBlur(3))
    return big.resize((28, 28), Image.Resampling.LANCZOS)


def shapes() -> Image.Image:
    img = Image.new("RGB", (64, 64), (0, 0, 0))
    d = ImageDraw.Draw(img)
    d.ellipse([6, 6, 28, 28], fill=(230, 40, 40))
    d.rectangle([36, 8, 56, 28], fill=(40, 200, 60))
    d.polygon([(10, 58), (30, 36), (50, 58)], fill=(50, 80, 240))
    return img


def stripes() -> Image.Image:
    img = Image.new("L", (48, 48), 0)
    d = ImageDraw.Draw(img)
    for k in range(-48, 48, 8):
        d.line([(k, 0), (k + 24, 24)], fill=255, width=2)
    for k in range(26, 48, 5):
        d.line([(k, 26), (k, 47)], fill=160)
        d.line([(26, k), (47, k)], fill=160)
    return img


if __name__ == "__main__":
    digit7().save(HERE / "digit7.png")
    shapes().save(HERE / "shapes.png")
    stripes().save(HERE / "stripes.png")
