#!/usr/bin/env python3
"""Draws the inspector's window icon, assets/icons/bitlens.png (64x64) and bitlens-32.png (32x32):
quantization bars of four heights behind a lens. Python's standard library only (zlib, struct);
each pixel is the mean of 4x4 samples, so the edges are smooth."""
import math
import os
import struct
import zlib

BACKGROUND = (28, 32, 46)
BARS = [(0.15, 0.46, (120, 60, 170)), (0.33, 0.30, (200, 70, 90)),
        (0.51, 0.58, (240, 150, 40)), (0.69, 0.40, (250, 220, 110))]  # left edge, height, colour
BAR_WIDTH, BAR_BOTTOM = 0.14, 0.84
LENS_CENTRE, LENS_RADIUS, RING = (0.47, 0.45), 0.25, 0.065
HANDLE_END, HANDLE_WIDTH = (0.86, 0.86), 0.11
LENS_COLOUR, GLASS = (90, 225, 250), (150, 235, 255)


def inside_rounded_square(x, y, radius=0.19):
    cx, cy = min(max(x, radius), 1 - radius), min(max(y, radius), 1 - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2


def distance_to_segment(x, y, a, b):
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(x - ax - t * dx, y - ay - t * dy)


def sample(x, y):
    """RGBA of the point (x, y) of the unit square, y downwards."""
    if not inside_rounded_square(x, y):
        return (0, 0, 0, 0)
    colour = BACKGROUND
    for left, height, c in BARS:
        if left <= x <= left + BAR_WIDTH and BAR_BOTTOM - height <= y <= BAR_BOTTOM:
            colour = c
    r = math.hypot(x - LENS_CENTRE[0], y - LENS_CENTRE[1])
    if r < LENS_RADIUS - RING / 2:  # the glass brightens what lies behind it
        colour = tuple(int(0.55 * a + 0.45 * g) for a, g in zip(colour, GLASS))
    handle_start = (LENS_CENTRE[0] + LENS_RADIUS * math.sqrt(0.5), LENS_CENTRE[1] + LENS_RADIUS * math.sqrt(0.5))
    if abs(r - LENS_RADIUS) <= RING / 2 or distance_to_segment(x, y, handle_start, HANDLE_END) <= HANDLE_WIDTH / 2:
        colour = LENS_COLOUR
    return colour + (255,)


def render(size, samples=4):
    rows = []
    for py in range(size):
        row = bytearray([0])  # PNG filter: none
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(samples):
                for sx in range(samples):
                    c = sample((px + (sx + 0.5) / samples) / size, (py + (sy + 0.5) / samples) / size)
                    for i in range(3):
                        acc[i] += c[i] * c[3]  # premultiplied, so transparent samples add no colour
                    acc[3] += c[3]
            alpha = acc[3] / samples ** 2
            row += bytes([round(acc[i] / acc[3]) if acc[3] else 0 for i in range(3)] + [round(alpha)])
        rows.append(bytes(row))
    return b"".join(rows)


def png(size, rgba):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rgba, 9)) + chunk(b"IEND", b"")


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets", "icons")
    os.makedirs(out, exist_ok=True)
    for size, name in [(64, "bitlens.png"), (32, "bitlens-32.png")]:
        with open(os.path.join(out, name), "wb") as f:
            f.write(png(size, render(size)))
        print(os.path.normpath(os.path.join(out, name)))


if __name__ == "__main__":
    main()
