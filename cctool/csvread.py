"""Reading contact files as CRM systems export them: encoding, delimiter and header aliases.

Real exports come as UTF-8, UTF-8 with a BOM (Excel), UTF-16 (Excel "Unicode text") or GB18030/GBK
(Chinese CRMs), separated by commas, semicolons (European Excel) or tabs. The file is read and decoded
once; the body is then cut into blocks on record boundaries so that several processes can parse it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError, UserError

FIELDS = ("phone", "name", "email", "tags", "timezone", "marketing_consent")

# Header spellings recognised without --map, compared after _key() folding.
ALIASES: dict[str, str] = {}
for _field, _names in {
    "phone": "phone mobile tel telephone phonenumber phoneno mobilephone mobilenumber cell cellphone msisdn "
    "e164 手机 电话 手机号 手机号码 电话号码 联系电话 移动电话",
    "name": "name fullname contactname customername customer 姓名 名字 客户姓名 客户名称 联系人",
    "email": "email mail emailaddress 邮箱 电子邮箱 电子邮件 邮件",
    "tags": "tags tag labels label 标签",
    "timezone": "timezone tz zone 时区",
    "marketing_consent": "marketingconsent consent marketing optin marketingoptin 营销同意 同意营销 营销许可",
}.items():
    for _name in _names.split():
        ALIASES[_name] = _field

_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_DELIMITERS = (",", ";", "\t")
_EXCEL_SEP = re.compile(r'"?sep=([,;\t|])"?,*', re.IGNORECASE)  # Excel's first line: sep=;
BLOCK_CHARS = 1 << 20


def _key(header: str) -> str:
    return "".join(ch for ch in header.strip().lower() if ch not in " _-./") or header.strip()


@dataclass
class ContactFile:
    """A decoded contact file: its header, how each column is used, and its body text."""

    path: Path
    encoding: str
    delimiter: str
    header: list[str]
    sha256: str
    body: str
    header_line: int = 1  # the line the header is on (after blank lines, or Excel's sep= line)
    columns: dict[str, int] = field(default_factory=dict)  # field -> column index
    attributes: list[tuple[int, str]] = field(default_factory=list)  # unknown columns kept as attributes
    # Later phone columns (Mobile, then Tel): read when a row's phone column is empty.
    phone_fallbacks: list[int] = field(default_factory=list)

    def blocks(self, sizes: Iterable[int]) -> Iterator[str]:
        """The body in pieces of at least the given sizes (the last piece takes the rest), each ending on a
        record boundary (an even count of quotes so far)."""
        body, start, end = self.body, 0, len(self.body)
        wanted = iter(sizes)
        while start < end:
            size = next(wanted, end)
            stop = body.find("\n", min(start + size, end))
            stop = end if stop < 0 else stop + 1
            while body.count('"', start, stop) % 2 and stop < end:
                nxt = body.find("\n", stop)
                stop = end if nxt < 0 else nxt + 1
            yield body[start:stop]
            start = stop

    def records(self) -> Iterator[list[str]]:
        yield from csv.reader(io.StringIO(self.body, newline=""), delimiter=self.delimiter)


def decode(path: Path, data: bytes) -> tuple[str, str]:
    """(text, encoding name), or a UserError naming the file when it is not text."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), "utf-16" if encoding == "utf-16" else "utf-8-sig"
            except UnicodeDecodeError:
                raise UserError(f"{path}: starts like {encoding} text but does not decode as it") from None
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise UserError(f"{path} is a spreadsheet or archive, not CSV: save it as CSV (UTF-8) first")
    if b"\x00" in data[:65536]:
        utf16 = _utf16_without_bom(data)
        if utf16 is None:
            raise UserError(f"{path} looks binary, not a CSV text file: export or save it as CSV (UTF-8)")
        try:
            return data.decode(utf16), utf16
        except UnicodeDecodeError:
            raise UserError(f"{path}: looks like {utf16} text but does not decode as it") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise UserError(f"{path} is neither UTF-8 nor GB18030/GBK text: re-save it as UTF-8 CSV") from None
    if looks_latin(text):
        raise UserError(
            f"{path} looks like Latin-1/Windows-1252 text (accented letters), not GB18030/GBK: "
            "re-save it as UTF-8 CSV"
        )
    return text, "gb18030"


def looks_latin(text: str, sample: int = 200_000) -> bool:
    """True when GB18030 read Latin-1 text: 'Renée' decodes to 'Ren閑' without an error.

    An accented Latin letter is one byte, nearly always followed by a plain letter; GB18030 takes the pair
    for a rare character whose second byte is that letter. Chinese text has such characters too (about
    one in five of the traditional ones), but most of its characters' second bytes are 0xA1 or above.
    """
    pairs = letters = 0
    for char in text[:sample]:
        if char < "\x80":
            continue
        encoded = char.encode("gb18030")
        if len(encoded) == 2:
            pairs += 1
            letters += chr(encoded[1]).isascii() and chr(encoded[1]).isalpha()
    return pairs >= 1 and letters >= 0.6 * pairs


def _skip_blank_lines(text: str, line: int) -> tuple[int, str]:
    """The text without its leading blank lines, and the number of the line it now starts on."""
    stripped = text.lstrip("\r\n")
    return line + text[: len(text) - len(stripped)].count("\n"), stripped


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' when the NUL bytes are those of UTF-16 text without a BOM, as some
    exports write it: the header's Latin letters then have a NUL on every other byte, on one side."""
    sample = data[:4096]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    pairs = len(sample) // 2
    if pairs and odd >= 0.4 * pairs and even <= 0.05 * odd:  # a few CJK characters end in a NUL too
        return "utf-16-le"
    if pairs and even >= 0.4 * pairs and odd <= 0.05 * even:
        return "utf-16-be"
    return None


def sniff_delimiter(header_line: str) -> str:
    """The most frequent of , ; tab in the header line (outside quotes); comma on a tie."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(_DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _split_header(text: str) -> tuple[str, str]:
    """The first record (the header) and the rest, honouring quoted newlines."""
    stop = 0
    while True:
        nxt = text.find("\n", stop)
        if nxt < 0:
            return text, ""
        stop = nxt + 1
        if text.count('"', 0, stop) % 2 == 0:
            return text[:stop], text[stop:]


def parse_maps(maps: list[str]) -> dict[str, str]:
    """--map COL=FIELD options as {column: field}; FIELD is one of FIELDS or 'ignore'."""
    found: dict[str, str] = {}
    for item in maps:
        column, sep, target = item.partition("=")
        target = target.strip().lower()
        if not sep or not column.strip():
            raise UsageError(f"--map {item!r}: use COLUMN=FIELD, e.g. --map 'Cell Phone=phone'")
        if target not in FIELDS and target != "ignore":
            raise UsageError(f"--map {item!r}: FIELD must be one of {', '.join(FIELDS)} or ignore")
        found[column.strip()] = target
    return found


def open_contact_file(path: Path | str, maps: dict[str, str] | None = None) -> ContactFile:
    """Read, decode and map a contact file; every unreadable case is a one-line UserError."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file: check the path")
    if path.is_dir():
        raise UserError(f"{path} is a folder, not a CSV file: give the file inside it")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.strerror})") from None
    if not data.strip():
        raise UserError(f"{path} is empty: expected a CSV file with a header row")
    text, encoding = decode(path, data)
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise UserError(f"{path} is empty: expected a CSV file with a header row")
    header_line, text = _skip_blank_lines(text, 1)
    delimiter = None
    first, _, rest = text.partition("\n")
    excel = _EXCEL_SEP.fullmatch(first.rstrip("\r"))
    if excel:  # a spreadsheet's "sep=;" line names the delimiter; the header follows it
        delimiter = excel.group(1)
        header_line, text = _skip_blank_lines(rest, header_line + 1)
    header_text, body = _split_header(text)
    delimiter = delimiter or sniff_delimiter(header_text)
    header = next(csv.reader(io.StringIO(header_text, newline=""), delimiter=delimiter), [])
    header = [h.strip() for h in header]
    contact_file = ContactFile(
        path, encoding, delimiter, header, hashlib.sha256(data).hexdigest(), body, header_line=header_line
    )
    if body.count('"') % 2:  # cheap: an even count cannot leave a quote open at the end
        first_line = header_line + sum(cell.count("\n") for cell in header) + 1
        opened = unclosed_quote_line(body, delimiter, first_line)
        if opened is not None:
            raise UserError(
                f"{path}: line {opened} opens a quoted field that never closes, so every line after it "
                'would be read into that one field: close or remove its " and import again'
            )
    _map_columns(contact_file, maps or {})
    return contact_file


def unclosed_quote_line(body: str, delimiter: str, first_line: int = 1) -> int | None:
    """The line of the record whose quote runs to the end of the text (a stray `"Bob`), or None.

    Python's csv reader, lenient, would read the rest of the file into that field and say nothing.
    """
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter, strict=True)
    start = 0  # lines read before the record being read
    while True:
        try:
            next(reader)
        except StopIteration:
            return None
        except csv.Error as exc:  # other strict complaints ('"a"b') the lenient reader copes with
            if "unexpected end of data" in str(exc):
                return first_line + start
        start = reader.line_num


def _map_columns(contact_file: ContactFile, maps: dict[str, str]) -> None:
    header, path = contact_file.header, contact_file.path
    by_key = {_key(h): i for i, h in reversed(list(enumerate(header)))}
    explicit: dict[int, str] = {}
    for column, wanted in maps.items():
        index = header.index(column) if column in header else by_key.get(_key(column))
        if index is None:
            raise UserError(f"{path}: --map names column {column!r}, which is not in the header {header}")
        explicit[index] = wanted
    # A rejects file, fixed and imported again, leads with cctool's own `row` and `reason` columns: they
    # describe the earlier import, not the person, so they do not become attributes.
    ours = {0, 1} if [_key(h) for h in header[:2]] == ["row", "reason"] else set()
    for index, name in enumerate(header):
        target = explicit.get(index) or ALIASES.get(_key(name))
        if target == "ignore" or (index in ours and index not in explicit):
            continue
        if (
            target
            and target not in contact_file.columns
            and (index in explicit or target not in maps.values())
        ):
            contact_file.columns[target] = index
        elif name:
            contact_file.attributes.append((index, name))
            if target == "phone" and "phone" not in maps.values():  # --map COL=phone means that column only
                contact_file.phone_fallbacks.append(index)
    if "phone" not in contact_file.columns:
        raise UserError(
            f"{path} has no phone column (header: {', '.join(header) or 'empty'}): "
            "name it phone/mobile/tel/手机号 or use --map COLUMN=phone"
        )
