"""Download inputs and names: list files, and names chosen by strangers made safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from aipopup.ops.download import names
from aipopup.ops.download.sources import DownloadItem, SourceError, expand

SHA = "ab" * 32


def test_text_list_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    listing = tmp_path / "links.txt"
    listing.write_text("\ufeff# material for the edit\n"
                       "https://example.org/a.jpg\n"
                       "\n"
                       "   http://example.org/b.png   # the second one\n"
                       "#https://example.org/skipped.jpg\n"
                       "ftp://example.org/c.bin\n", encoding="utf-8")
    assert expand([str(listing)]) == [
        DownloadItem("https://example.org/a.jpg"),
        DownloadItem("http://example.org/b.png"),
        # kept: it fails as its own task with a clear message instead of vanishing
        DownloadItem("ftp://example.org/c.bin"),
    ]


def test_csv_list_reads_url_filename_and_sha256_columns(tmp_path: Path) -> None:
    listing = tmp_path / "links.csv"
    listing.write_text("Name,URL,sha256,filename\n"
                       f"first,https://example.org/1,{SHA.upper()},one.jpg\n"
                       "second,https://example.org/2,,\n"
                       ",,,\n", encoding="utf-8")
    assert expand([str(listing)]) == [
        DownloadItem("https://example.org/1", "one.jpg", SHA),
        DownloadItem("https://example.org/2"),
    ]


def test_csv_with_semicolons_and_without_header(tmp_path: Path) -> None:
    semi = tmp_path / "excel.csv"
    semi.write_text("url;filename\nhttps://example.org/x;x.png\n", encoding="utf-8")
    bare = tmp_path / "bare.csv"
    bare.write_text(f"https://example.org/y,y.jpg,{SHA}\nhttps://example.org/z\n", encoding="utf-8")
    assert expand([str(semi), str(bare)]) == [
        DownloadItem("https://example.org/x", "x.png"),
        DownloadItem("https://example.org/y", "y.jpg", SHA),
        DownloadItem("https://example.org/z"),
    ]


def test_csv_without_url_column_is_refused(tmp_path: Path) -> None:
    listing = tmp_path / "bad.csv"
    listing.write_text("link_text,title\nhello,world\n", encoding="utf-8")
    with pytest.raises(SourceError, match="no 'url' column"):
        expand([str(listing)])


def test_urls_and_lists_mix_in_order_without_duplicates(tmp_path: Path) -> None:
    listing = tmp_path / "more.txt"
    listing.write_text("https://example.org/b\nhttps://example.org/a\n", encoding="utf-8")
    got = expand(["https://example.org/a", str(listing), "file:///etc/passwd"])
    assert [item.url for item in got] == ["https://example.org/a", "https://example.org/b",
                                         "file:///etc/passwd"]


def test_missing_list_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        expand([str(tmp_path / "nope.txt")])


@pytest.mark.parametrize(("raw", "safe"), [
    ("../../x", "x"),
    ("/etc/passwd", "passwd"),
    ("..\\..\\Windows\\win.ini", "win.ini"),
    ("..", ""),
    ("...", ""),
    (".bashrc", "bashrc"),
    ("CON", "_CON"),
    ("nul.txt", "_nul.txt"),
    ("com1.tar.gz", "_com1.tar.gz"),
    ("a<b>c:d|e?f*.jpg", "a_b_c_d_e_f_.jpg"),
    ("tab\there\x00.png", "tab_here_.png"),
    ("trailing dots. . .", "trailing dots"),
    ("movie.mp4.part", "movie.mp4_part"),
])
def test_sanitize_leaves_one_plain_component(raw: str, safe: str) -> None:
    assert names.sanitize(raw) == safe


def test_sanitize_limits_length_and_keeps_the_extension() -> None:
    name = names.sanitize("é" * 300 + ".jpeg")
    assert name.endswith(".jpeg")
    assert len(name.encode()) <= names.MAX_NAME_BYTES
    name.encode().decode()  # never cut inside a character


@pytest.mark.parametrize(("header", "name"), [
    ('attachment; filename="report.pdf"', "report.pdf"),
    ("attachment; filename=plain.txt", "plain.txt"),
    ('attachment; filename="a \\"quoted\\" name.txt"', 'a "quoted" name.txt'),
    # RFC 6266: filename* wins over filename, whichever comes first
    ("attachment; filename*=UTF-8''%E2%82%AC%20rates.txt; filename=\"EUR rates.txt\"", "€ rates.txt"),
    ("attachment; filename=\"fallback.txt\"; filename*=utf-8'en'na%C3%AFve.txt", "naïve.txt"),
    ("attachment; filename*=bogus-charset''x.txt; filename=ok.txt", "ok.txt"),
    ("inline", None),
    ("", None),
])
def test_content_disposition_file_names(header: str, name: str | None) -> None:
    assert names.from_content_disposition(header) == name


def test_choose_prefers_list_then_server_then_url() -> None:
    url = "https://example.org/path/photo%20one.jpg?size=big"
    cd = 'attachment; filename="../../server.png"'
    assert names.choose(override="../mine.jpg", disposition=cd, url=url, content_type=None) == "mine.jpg"
    assert names.choose(override=None, disposition=cd, url=url, content_type=None) == "server.png"
    assert names.choose(override=None, disposition=None, url=url, content_type=None) == "photo one.jpg"
    # no name anywhere: a generic one, with the extension the media type implies
    assert names.choose(override=None, disposition=None, url="https://example.org/",
                        content_type="image/jpeg") == "download.jpg"
    assert names.choose(override=None, disposition=None, url="https://example.org/img/42",
                        content_type="image/png; q=1") == "42.png"


def test_variants_number_names_and_keep_them_short() -> None:
    got = names.variants("photo.jpg")
    assert [next(got) for _ in range(3)] == ["photo.jpg", "photo (2).jpg", "photo (3).jpg"]
    long = names.sanitize("x" * 400 + ".png")
    second = list(zip(range(2), names.variants(long), strict=False))[1][1]
    assert second.endswith(" (2).png") and len(second.encode()) <= names.MAX_NAME_BYTES


def test_find_urls_picks_links_out_of_pasted_text() -> None:
    from aipopup.ops.download.sources import find_urls

    text = ("Photos: https://example.org/a.jpg, https://example.org/b.png.\n"
            "(see http://example.org/wiki/Foo_(bar)) and <https://example.org/c?x=1&y=2>\n"
            "again https://example.org/a.jpg; not ftp://example.org/x or example.org/y")
    assert find_urls(text) == ["https://example.org/a.jpg", "https://example.org/b.png",
                               "http://example.org/wiki/Foo_(bar)", "https://example.org/c?x=1&y=2"]
