"""A strict, fast GGUFReader: reads past the end of the file fail, array values are skipped."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
from gguf import GGUFEndian, GGUFReader, GGUFValueType


class ShortRead(Exception):
    """A read ran past the end of the file."""


class StrictReader(GGUFReader):
    """A GGUFReader that fails on reads past the end of the file and skips array values.

    Both override private GGUFReader helpers. Stock GGUFReader returns short arrays at the end
    of the file, and walks arrays item by item (about 3 s for a 49k-token vocabulary);
    nothing here needs array contents, so arrays are measured, not read, and their fields hold no items.
    """

    def _get(self, offset: int, dtype: Any, count: int = 1, *args: Any, **kwargs: Any) -> Any:
        end = offset + np.dtype(dtype).itemsize * int(count)
        if end > len(self.data):
            raise ShortRead(f"bytes {offset}-{end} wanted, the file has {len(self.data)}")
        return super()._get(offset, dtype, count, *args, **kwargs)

    def _get_field_parts(self, orig_offs: int, raw_type: int) -> tuple[int, list[Any], list[int], list[Any]]:
        item_type = self._get(orig_offs, np.uint32) if raw_type == GGUFValueType.ARRAY else None
        if item_type is None or item_type[0] == GGUFValueType.ARRAY:  # nested arrays: rare, walk them
            return super()._get_field_parts(orig_offs, raw_type)
        length = self._get(orig_offs + 4, np.uint64)
        size = 12 + self._array_bytes(orig_offs + 12, GGUFValueType(item_type[0]), int(length[0]))
        if orig_offs + size > len(self.data):
            raise ShortRead(f"array at byte {orig_offs} runs past the end of the file")
        return size, [item_type, length], [], [GGUFValueType.ARRAY, GGUFValueType(item_type[0])]

    def _array_bytes(self, offset: int, item_type: GGUFValueType, length: int) -> int:
        """The size of `length` items of `item_type` stored from `offset`, found without reading them."""
        scalar = self.gguf_scalar_to_np.get(item_type)
        if scalar is not None:
            return length * np.dtype(scalar).itemsize
        if item_type != GGUFValueType.STRING:
            raise ValueError(f"unsupported array item type {item_type.name}")
        lengths = struct.Struct("<Q" if self.endianess == GGUFEndian.LITTLE else ">Q")
        buffer, end = memoryview(self.data), offset
        try:
            for _ in range(length):
                end += 8 + lengths.unpack_from(buffer, end)[0]
        except struct.error as error:
            raise ShortRead(f"string array at byte {offset} runs past the end of the file") from error
        return end - offset
