"""The Chinese edition's translation: complete, intact, and kept up by `make translations`.

tools/i18n.py extracts the messages of the English book afresh (Sphinx's gettext
builder) and compares them with the committed catalogs under locale/zh_CN/: an
English paragraph that changed since it was translated is a message the
catalogs do not have, so it fails here even before anyone ran `make
translations`. The strict Chinese build is part of `make build-book`, and the
browser tests (tests/test_browser.py) open its pages.
"""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from book_ext import i18n as book_i18n
from helpers import ROOT
from tools import i18n

GROUPS = i18n.glossary_groups()


def problems(msgid: str, msgstr: str, fuzzy: bool = False) -> list[str]:
    return [p.what for p in i18n.check_message("page", msgid, msgstr, fuzzy, GROUPS)]


def test_every_message_of_the_english_book_is_translated_and_intact():
    """A fresh extraction from the English, against the committed catalogs (about 25 s)."""
    proc = subprocess.run([sys.executable, "tools/i18n.py", "check"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert "Every message is translated and intact" in proc.stdout


@pytest.mark.parametrize("msgstr, complaint", [
    ("", "not translated"),
    ("学习率 $\\mu$ 乘以 `grad`，见 {doc}`04_training`。", "formulas differ"),
    ("学习率 $\\eta$ 乘以 `grad`，见 {doc}`03_backpropagation`。", "roles differ"),
    ("学习率 $\\eta$ 乘以 `grads`，见 {doc}`04_training`。", "code spans differ"),
    ("学习率 $\\eta$ 乘以 `grad`，见 {doc}`04_training` 与[下一章](09_digits.ipynb)。", "link targets differ"),
    ("学习率 $\\eta$ 乘以 `grad`[^1]，见 {doc}`04_training`。", "footnote"),
])
def test_a_damaged_translation_is_caught(msgstr, complaint):
    msgid = "The learning rate $\\eta$ scales `grad`; see {doc}`04_training`."
    assert problems(msgid, "学习率 $\\eta$ 乘以 `grad`，见 {doc}`04_training`。") == []
    found = problems(msgid, msgstr)
    assert any(complaint in p for p in found), found


def test_glossary_terms_show_the_glossarys_chinese_term():
    msgid = "Every {term}`neuron <neuron>` has a {term}`bias`."
    assert problems(msgid, "每个{term}`神经元 <neuron>`都有一个{term}`偏置 <bias>`。") == []
    assert any("use the glossary's term, 神经元" in p
               for p in problems(msgid, "每个{term}`神经单元 <neuron>`都有一个{term}`偏置 <bias>`。"))
    # The target stays English: a Chinese target is a changed role.
    assert any("roles differ" in p for p in problems(msgid, "每个{term}`神经元`都有一个{term}`偏置 <bias>`。"))


def test_a_fuzzy_translation_counts_as_not_done():
    assert any("fuzzy" in p for p in problems("The loss falls.", "损失下降。", fuzzy=True))


def test_messages_without_words_need_no_translation():
    for msgid in ("$x_1$", "`(n_out,)`", "0", "`y_hat`, $\\hat y$"):
        assert not i18n.has_words(msgid) and problems(msgid, "") == []
    assert i18n.has_words("a number") and problems("a number", "") == ["not translated"]


def _catalog(*messages: tuple[str, str]) -> Catalog:
    catalog = Catalog(locale="zh_CN")
    for msgid, msgstr in messages:
        catalog.add(msgid, msgstr)
    return catalog


# Longer than a line: babel wraps the old English over several "#|" lines.
LONG_OLD = ("The loss falls quickly at first, then slowly, as the steps shrink with the gradient, "
            "and after a few hundred epochs it has almost stopped.")
LONG_NEW = LONG_OLD.replace("quickly at first", "very quickly at first")


def test_refresh_keeps_a_changed_message_as_fuzzy_and_a_removed_one_as_obsolete(tmp_path):
    path = tmp_path / "page.po"
    i18n.update(_catalog((LONG_OLD, ""), ("Gone soon.", ""), ("Kept.", "")), path)
    catalog = read_po(path.open("rb"), locale="zh_CN")
    catalog[LONG_OLD].string = "损失起初下降得很快。"
    catalog["Gone soon."].string = "很快就没了。"
    catalog["Kept."].string = "保留。"
    i18n._write(catalog, path)
    english_now = _catalog((LONG_NEW, ""), ("Kept.", ""), ("New.", ""))
    i18n.update(english_now, path)
    text = path.read_text(encoding="utf-8")
    catalog = read_po(io.BytesIO(text.encode()), locale="zh_CN")
    changed = catalog[LONG_NEW]
    assert changed.fuzzy and changed.string == "损失起初下降得很快。"
    assert '#| msgid "The loss falls quickly at first' in text     # what changed, for the translator
    assert i18n.read(path)[LONG_NEW].previous_id == [LONG_OLD]      # read back whole, though wrapped
    assert catalog["Kept."].string == "保留。" and not catalog["Kept."].fuzzy
    assert catalog["New."].string == ""
    assert "Gone soon." in catalog.obsolete
    assert "POT-Creation-Date" not in text and "python-format" not in text
    # A refresh that changes nothing changes no byte.
    i18n.update(english_now, path)
    assert path.read_text(encoding="utf-8") == text


def test_every_glossary_term_reaches_the_chinese_search_dictionary():
    terms = book_i18n.glossary_terms()
    assert len(terms) >= 50 and {"反向传播", "神经元", "梯度检验", "暂退法", "均方误差", "模型保存"} <= set(terms)
    assert GROUPS["mean squared error"] == GROUPS["mse"] == ["mean squared error", "MSE", "均方误差"]


def test_the_chinese_configuration_is_the_english_one_with_the_language_changed():
    english = i18n.yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    chinese = i18n.zh_config()
    assert chinese["sphinx"]["config"]["language"] == "zh_CN" and chinese["title"] == i18n.ZH_TITLE
    for key in ("extensions", "nb_mime_priority_overrides", "gettext_compact", "latex_elements", "mathjax_path"):
        assert chinese["sphinx"]["config"][key] == english["sphinx"]["config"][key], key
    assert chinese["parse"] == english["parse"] and chinese["execute"] == english["execute"]
