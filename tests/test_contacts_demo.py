"""The bundled sample and the contacts step of the demo."""

from __future__ import annotations

from pathlib import Path

from cctool import contacts_demo
from cctool.contacts_sample import write_sample


def test_the_sample_is_seeded_and_holds_a_gb18030_chinese_export(tmp_path: Path) -> None:
    first = write_sample(tmp_path / "a")
    second = write_sample(tmp_path / "b")
    assert [f.path.read_bytes() for f in first] == [f.path.read_bytes() for f in second]
    chinese = next(f for f in first if f.region == "CN").path.read_bytes()
    assert chinese.decode("gb18030").startswith("姓名,手机号,标签,营销同意")
    try:
        chinese.decode("utf-8")
        raise AssertionError("the Chinese sample should not be UTF-8")
    except UnicodeDecodeError:
        pass
    assert next(f for f in first if f.region == "US").path.read_bytes().startswith(b"\xef\xbb\xbf")


def test_the_demo_step_imports_three_exports_with_a_days_call_list_and_erases_one(
    store, tmp_path: Path
) -> None:
    said: list[str] = []
    contacts_demo.demo(store, tmp_path, said.append)
    regions = dict(store.conn.execute("SELECT region, COUNT(*) FROM contacts GROUP BY region").fetchall())
    assert regions["US"] > 50 and regions["GB"] > 50 and regions["CN"] > 50
    # the renewal list: enough people in the predictive campaign's segment for five agents and a day
    due = store.conn.execute("SELECT COUNT(*) FROM contact_tags WHERE tag = 'renewal-due'").fetchone()[0]
    assert 2000 <= due <= 3000
    assert store.conn.execute("SELECT COUNT(*) FROM suppressions WHERE reason = 'erased'").fetchone()[0] == 1
    assert any("rejected" in line for line in said) and any("erased" in line for line in said)
    assert store.conn.execute("SELECT COUNT(*) FROM imports WHERE rejected > 0").fetchone()[0] == 3
