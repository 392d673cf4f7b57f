"""demijohn.json: the module functions, the JSON providers and the tagged serializer."""

from __future__ import annotations

import dataclasses
import decimal
import io
import json as stdlib_json
import typing as t
import uuid
from collections import OrderedDict
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

import demijohn
from demijohn import json as dj_json
from demijohn._shortcuts.json import compact_encoder
from demijohn.json.provider import DefaultJSONProvider, JSONProvider
from demijohn.json.tag import JSONTag, TaggedJSONSerializer
from demijohn.wrappers import Response


@dataclasses.dataclass
class Point:
    x: int
    y: int


class HTMLThing:
    def __html__(self) -> str:
        return "<em>thing</em>"


class _StandInApp:
    """Just the attributes a JSON provider reads from its app."""

    def __init__(self, debug: bool = False) -> None:
        self.debug = debug
        self.response_class: type[Response] = Response
        # A provider holds its app weakly (the app owns it); a stand-in has no
        # other owner, so it is kept alive here.
        _stand_ins.append(self)


_stand_ins: list[_StandInApp] = []


# -- module functions ---------------------------------------------------------


def test_dumps_outside_app_context_uses_default_conversions() -> None:
    value = {
        "day": date(2024, 1, 2),
        "moment": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        "price": decimal.Decimal("1.10"),
        "id": uuid.UUID(int=1),
        "point": Point(1, 2),
        "html": HTMLThing(),
    }
    assert stdlib_json.loads(dj_json.dumps(value)) == {
        "day": "Tue, 02 Jan 2024 00:00:00 GMT",
        "moment": "Tue, 02 Jan 2024 03:04:05 GMT",
        "price": "1.10",
        "id": "00000000-0000-0000-0000-000000000001",
        "point": {"x": 1, "y": 2},
        "html": "<em>thing</em>",
    }


def test_dumps_outside_app_context_keeps_key_order_and_stdlib_spacing() -> None:
    # Flask sorts keys only through the app's provider.
    assert dj_json.dumps({"b": 1, "a": 2}) == '{"b": 1, "a": 2}'
    assert dj_json.dumps({"b": 1}, separators=(",", ":")) == '{"b":1}'


def test_dumps_rejects_unknown_types() -> None:
    with pytest.raises(TypeError, match=r"^Object of type object is not JSON serializable$"):
        dj_json.dumps(object())
    with pytest.raises(TypeError, match="Object of type type is not JSON serializable"):
        dj_json.dumps(Point)  # the dataclass itself, not an instance


def test_dumps_in_app_context_uses_app_provider(app: demijohn.Flask) -> None:
    with app.app_context():
        assert dj_json.dumps({"b": 1, "a": "\u00e9"}) == '{"a": "\\u00e9", "b": 1}'
        app.json.sort_keys = False  # type: ignore[attr-defined]
        app.json.ensure_ascii = False  # type: ignore[attr-defined]
        assert dj_json.dumps({"b": 1, "a": "\u00e9"}) == '{"b": 1, "a": "\u00e9"}'


class RecordingProvider(JSONProvider):
    """A provider built on the base class only: dumps/loads, nothing else."""

    def __init__(self, app: t.Any) -> None:
        super().__init__(app)
        self.calls: list[tuple[str, t.Any, dict[str, t.Any]]] = []

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        self.calls.append(("dumps", obj, kwargs))
        return stdlib_json.dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        self.calls.append(("loads", s, kwargs))
        return stdlib_json.loads(s, **kwargs)


def test_module_functions_delegate_to_a_custom_provider(app: demijohn.Flask) -> None:
    provider = RecordingProvider(app)
    app.json = provider
    with app.app_context():
        assert dj_json.dumps([1], indent=None) == "[1]"
        assert dj_json.loads("[2]") == [2]
        out = io.StringIO()
        dj_json.dump({"a": 1}, out)
        assert out.getvalue() == '{"a": 1}'
        assert dj_json.load(io.StringIO("[3]")) == [3]
    assert provider.calls == [
        ("dumps", [1], {"indent": None}),
        ("loads", "[2]", {}),
        ("dumps", {"a": 1}, {}),
        ("loads", "[3]", {}),
    ]


def test_dump_and_load_outside_app_context() -> None:
    out = io.StringIO()
    dj_json.dump({"when": date(2020, 5, 17)}, out)
    assert out.getvalue() == '{"when": "Sun, 17 May 2020 00:00:00 GMT"}'
    assert dj_json.load(io.StringIO('{"a": [1, 2]}')) == {"a": [1, 2]}
    assert dj_json.load(io.BytesIO(b'{"a": "\xc3\xa9"}')) == {"a": "\u00e9"}
    assert dj_json.loads(b'{"x": null}') == {"x": None}


def test_loads_reports_malformed_json() -> None:
    with pytest.raises(ValueError, match="Expecting"):
        dj_json.loads("{not json")


def test_jsonify_needs_an_app_context() -> None:
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        dj_json.jsonify(a=1)


def test_jsonify_argument_forms(app: demijohn.Flask) -> None:
    with app.app_context():
        assert dj_json.jsonify({"b": 1, "a": 2}).get_data(as_text=True) == '{"a":2,"b":1}\n'
        assert dj_json.jsonify(1, "x", None).get_data(as_text=True) == '[1,"x",null]\n'
        assert dj_json.jsonify(b=1, a=[2]).get_data(as_text=True) == '{"a":[2],"b":1}\n'
        assert dj_json.jsonify().get_data(as_text=True) == "null\n"
        assert dj_json.jsonify([]).get_data(as_text=True) == "[]\n"
        with pytest.raises(TypeError, match="either args or kwargs, not both"):
            dj_json.jsonify(1, a=2)


def test_jsonify_response_type_and_headers(app: demijohn.Flask) -> None:
    with app.app_context():
        rv = dj_json.jsonify(ok=True)
    assert isinstance(rv, app.response_class)
    assert rv.status_code == 200
    assert rv.mimetype == "application/json"
    assert rv.headers["Content-Type"] == "application/json"
    assert rv.json == {"ok": True}


def test_jsonify_from_a_view(app: demijohn.Flask) -> None:
    @app.route("/user/<int:uid>")
    def user(uid: int) -> Response:
        return dj_json.jsonify(id=uid, name="\u00e9mile")

    rv = app.test_client().get("/user/7")
    assert rv.status_code == 200
    assert rv.get_data() == b'{"id":7,"name":"\\u00e9mile"}\n'


# -- the default provider -----------------------------------------------------


def test_debug_mode_indents_output(app: demijohn.Flask) -> None:
    app.debug = True
    with app.app_context():
        body = dj_json.jsonify({"b": [1, 2], "a": "\u00e9"}).get_data(as_text=True)
    # Flask's exact output: indent=2 and the stdlib's (",", ": ") separators.
    assert body == '{\n  "a": "\\u00e9",\n  "b": [\n    1,\n    2\n  ]\n}\n'


@pytest.mark.parametrize(
    ("compact", "debug", "expected"),
    [
        (None, False, '{"a":[1]}\n'),
        (None, True, '{\n  "a": [\n    1\n  ]\n}\n'),
        (True, True, '{"a":[1]}\n'),
        (False, False, '{\n  "a": [\n    1\n  ]\n}\n'),
    ],
)
def test_compact_setting(compact: bool | None, debug: bool, expected: str) -> None:
    provider = DefaultJSONProvider(_StandInApp(debug=debug))  # type: ignore[arg-type]
    provider.compact = compact
    assert provider.response({"a": [1]}).get_data(as_text=True) == expected


def test_provider_attributes_on_instance_change_response_output() -> None:
    provider = DefaultJSONProvider(_StandInApp())  # type: ignore[arg-type]
    value = {"b": "\u00e9", "a": date(2024, 1, 2)}
    assert provider.response(value).get_data(as_text=True) == (
        '{"a":"Tue, 02 Jan 2024 00:00:00 GMT","b":"\\u00e9"}\n'
    )
    # Each change is seen even after compact output was produced once.
    provider.sort_keys = False
    assert provider.response(value).get_data(as_text=True) == (
        '{"b":"\\u00e9","a":"Tue, 02 Jan 2024 00:00:00 GMT"}\n'
    )
    provider.ensure_ascii = False
    assert provider.response(value).get_data(as_text=True) == (
        '{"b":"\u00e9","a":"Tue, 02 Jan 2024 00:00:00 GMT"}\n'
    )
    provider.default = lambda o: o.isoformat()  # type: ignore[method-assign]
    assert provider.response(value).get_data(as_text=True) == '{"b":"\u00e9","a":"2024-01-02"}\n'
    provider.mimetype = "application/vnd.api+json"
    assert provider.response(value).mimetype == "application/vnd.api+json"


def test_provider_subclass_attributes() -> None:
    class Unsorted(DefaultJSONProvider):
        sort_keys = False
        ensure_ascii = False

        @staticmethod
        def default(o: t.Any) -> t.Any:
            if isinstance(o, set):
                return sorted(o)
            return DefaultJSONProvider.default(o)

    provider = Unsorted(_StandInApp())  # type: ignore[arg-type]
    body = provider.response({"z": {3, 1}, "a": "\u00e9"}).get_data(as_text=True)
    assert body == '{"z":[1,3],"a":"\u00e9"}\n'
    assert provider.dumps({"s": {2}}) == '{"s": [2]}'
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        provider.response(object())


def test_overridden_dumps_sees_the_compact_call() -> None:
    seen: list[dict[str, t.Any]] = []

    class Spy(DefaultJSONProvider):
        def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
            seen.append(kwargs)
            return "SPY"

    assert Spy(_StandInApp()).response(1).get_data() == b"SPY\n"  # type: ignore[arg-type]
    assert seen == [{"separators": (",", ":")}]

    provider = DefaultJSONProvider(_StandInApp(debug=True))  # type: ignore[arg-type]
    provider.dumps = lambda obj, **kw: seen.append(kw) or "PATCHED"  # type: ignore[method-assign]
    assert provider.response(1).get_data() == b"PATCHED\n"
    assert seen[-1] == {"indent": 2}


def test_response_class_is_read_at_call_time(app: demijohn.Flask) -> None:
    class Custom(Response):
        pass

    with app.app_context():
        dj_json.jsonify(1)  # warm any cache
        app.response_class = Custom
        assert type(dj_json.jsonify(1)) is Custom


def test_dumps_kwargs_override_attributes() -> None:
    provider = DefaultJSONProvider(_StandInApp())  # type: ignore[arg-type]
    assert provider.dumps({"b": 1, "a": 2}, sort_keys=False) == '{"b": 1, "a": 2}'
    assert provider.dumps("\u00e9", ensure_ascii=False) == '"\u00e9"'
    assert provider.dumps(object(), default=lambda o: "custom") == '"custom"'
    assert provider.loads('{"a": 1.5}', parse_float=decimal.Decimal) == {
        "a": decimal.Decimal("1.5")
    }


def test_base_provider_contract() -> None:
    base = JSONProvider(_StandInApp())  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError):
        base.dumps(1)
    with pytest.raises(NotImplementedError):
        base.loads("1")

    provider = RecordingProvider(_StandInApp())
    out = io.StringIO()
    provider.dump([1, 2], out, indent=None)
    assert out.getvalue() == "[1, 2]"
    assert provider.load(io.StringIO("[1]")) == [1]
    rv = provider.response(1, 2)
    assert rv.mimetype == "application/json"
    # The base response is neither compact nor newline-terminated (as in Flask).
    assert rv.get_data(as_text=True) == "[1, 2]"
    with pytest.raises(TypeError, match="not both"):
        provider.response(1, a=1)


def test_prepare_response_obj() -> None:
    provider = JSONProvider(_StandInApp())  # type: ignore[arg-type]
    assert provider._prepare_response_obj((), {}) is None
    assert provider._prepare_response_obj(([1],), {}) == [1]
    assert list(provider._prepare_response_obj((1, 2), {})) == [1, 2]
    assert provider._prepare_response_obj((), {"a": 1}) == {"a": 1}


def test_default_function_directly() -> None:
    default = DefaultJSONProvider.default
    assert default(date(1999, 12, 31)) == "Fri, 31 Dec 1999 00:00:00 GMT"
    # A timezone-aware datetime is converted to GMT.
    eastern = timezone(timedelta(hours=-5))
    assert default(datetime(2024, 1, 1, 19, 0, tzinfo=eastern)) == "Tue, 02 Jan 2024 00:00:00 GMT"
    assert default(Markup("<b>x</b>")) == "<b>x</b>"
    with pytest.raises(TypeError, match="Object of type complex is not JSON serializable"):
        default(1j)


# -- the tagged serializer ----------------------------------------------------

SAMPLE_UUID = uuid.UUID("12345678-1234-5678-1234-567812345678")


@pytest.fixture
def serializer() -> TaggedJSONSerializer:
    return TaggedJSONSerializer()


@pytest.mark.parametrize(
    ("value", "dumped"),
    [
        ((1, 2), '{" t":[1,2]}'),
        ((), '{" t":[]}'),
        (b"\x00\xff", '{" b":"AP8="}'),
        (Markup("<b>x</b>"), '{" m":"<b>x</b>"}'),
        (SAMPLE_UUID, '{" u":"12345678123456781234567812345678"}'),
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), '{" d":"Tue, 02 Jan 2024 03:04:05 GMT"}'),
        ({" t": 1}, '{" di":{" t__":1}}'),
        ({" di": {" t": 1}}, '{" di":{" di__":{" di":{" t__":1}}}}'),
        ({"a": (1,), "b": [b"x"]}, '{"a":{" t":[1]},"b":[{" b":"eA=="}]}'),
        ([1, "two", None, True, 1.5], '[1,"two",null,true,1.5]'),
        ({" x": 1}, '{" x":1}'),
        ({" t": 1, " b": 2}, '{" t":1," b":2}'),
        ("\u00e9\U0001f40d", '"\\u00e9\\ud83d\\udc0d"'),
    ],
)
def test_tagged_format_and_round_trip(
    serializer: TaggedJSONSerializer, value: t.Any, dumped: str
) -> None:
    assert serializer.dumps(value) == dumped
    loaded = serializer.loads(dumped)
    assert loaded == value
    assert type(loaded) is type(value)


def test_round_trip_keeps_nested_types(serializer: TaggedJSONSerializer) -> None:
    value = {
        "flashes": [("message", "Saved"), ("error", Markup("<b>no</b>"))],
        "deep": {
            "list": [(1, (2, b"3")), {" u": SAMPLE_UUID}],
            "when": datetime(2000, 1, 1, tzinfo=UTC),
        },
    }
    loaded = serializer.loads(serializer.dumps(value))
    assert loaded == value
    assert type(loaded["flashes"][0]) is tuple
    assert type(loaded["flashes"][1][1]) is Markup
    assert type(loaded["deep"]["list"][0][1][1]) is bytes
    assert type(loaded["deep"]["list"][1]) is dict
    assert type(loaded["deep"]["list"][1][" u"]) is uuid.UUID


def test_html_objects_load_as_markup(serializer: TaggedJSONSerializer) -> None:
    loaded = serializer.loads(serializer.dumps(HTMLThing()))
    assert loaded == "<em>thing</em>"
    assert type(loaded) is Markup


def test_datetimes_load_aware_utc_to_the_second(serializer: TaggedJSONSerializer) -> None:
    naive = datetime(2024, 6, 1, 12, 30, 15, 999_999)
    loaded = serializer.loads(serializer.dumps(naive))
    assert loaded == datetime(2024, 6, 1, 12, 30, 15, tzinfo=UTC)
    eastern = datetime(2024, 6, 1, 8, 30, tzinfo=timezone(timedelta(hours=-4)))
    assert serializer.loads(serializer.dumps(eastern)) == eastern
    assert serializer.loads(serializer.dumps(eastern)).utcoffset() == timedelta(0)


def test_plain_dates_use_the_default_conversion(serializer: TaggedJSONSerializer) -> None:
    # Only datetimes are tagged; a date becomes an HTTP date string, as in Flask.
    assert serializer.loads(serializer.dumps({"d": date(2024, 1, 2)})) == {
        "d": "Tue, 02 Jan 2024 00:00:00 GMT"
    }


def test_untag_leaves_other_objects_alone(serializer: TaggedJSONSerializer) -> None:
    assert serializer.untag({"a": 1, "b": 2}) == {"a": 1, "b": 2}
    assert serializer.untag({" nope": 1}) == {" nope": 1}
    assert serializer.untag({}) == {}
    assert serializer.untag({" t": [1]}) == (1,)


def test_unserializable_values_raise(serializer: TaggedJSONSerializer) -> None:
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        serializer.dumps({"x": object()})


def test_dumps_in_app_context_sorts_keys(
    app: demijohn.Flask, serializer: TaggedJSONSerializer
) -> None:
    value = {"b": 1, "a": {"d": 2, "c": 3}}
    assert serializer.dumps(value) == '{"b":1,"a":{"d":2,"c":3}}'
    with app.app_context():
        assert serializer.dumps(value) == '{"a":{"c":3,"d":2},"b":1}'


def test_loads_works_with_providers_without_object_hook(
    app: demijohn.Flask, serializer: TaggedJSONSerializer
) -> None:
    class Strict(DefaultJSONProvider):
        def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
            assert not kwargs, "unexpected loads() options"
            return super().loads(s)

    app.json = Strict(app)
    with app.app_context():
        assert serializer.loads('{"a":{" t":[1,{" b":"AP8="}]}}') == {"a": (1, b"\x00\xff")}


def test_register_rejects_duplicate_keys(serializer: TaggedJSONSerializer) -> None:
    class OtherTuple(JSONTag):
        __slots__ = ()
        key = " t"

        def check(self, value: t.Any) -> bool:
            return isinstance(value, tuple)

        def to_json(self, value: t.Any) -> t.Any:
            return "tuple"

        def to_python(self, value: t.Any) -> t.Any:
            return ("replaced",)

    with pytest.raises(KeyError, match=r"^\"Tag ' t' is already registered\.\"$"):
        serializer.register(OtherTuple)
    serializer.register(OtherTuple, force=True, index=0)
    assert isinstance(serializer.tags[" t"], OtherTuple)
    assert isinstance(serializer.order[0], OtherTuple)
    assert serializer.dumps((1,)) == '{" t":"tuple"}'
    assert serializer.loads('{" t":"anything"}') == ("replaced",)
    # Other serializers keep the defaults.
    assert TaggedJSONSerializer().dumps((1,)) == '{" t":[1]}'


def test_register_custom_tag_before_a_general_one(serializer: TaggedJSONSerializer) -> None:
    class TagOrderedDict(JSONTag):
        __slots__ = ()
        key = " od"

        def check(self, value: t.Any) -> bool:
            return isinstance(value, OrderedDict)

        def to_json(self, value: t.Any) -> t.Any:
            return [[k, self.serializer.tag(v)] for k, v in value.items()]

        def to_python(self, value: t.Any) -> t.Any:
            return OrderedDict(value)

    # Appended, the dict tags would claim OrderedDicts first.
    serializer.register(TagOrderedDict, index=0)
    value = OrderedDict([("z", (1,)), ("a", 2)])
    dumped = serializer.dumps(value)
    assert dumped == '{" od":[["z",{" t":[1]}],["a",2]]}'
    loaded = serializer.loads(dumped)
    assert type(loaded) is OrderedDict
    assert list(loaded.items()) == [("z", (1,)), ("a", 2)]
    # A one-key dict using the new key is now escaped too.
    assert serializer.loads(serializer.dumps({" od": 1})) == {" od": 1}


def test_keyless_tag_transforms_without_marking(serializer: TaggedJSONSerializer) -> None:
    class SetAsList(JSONTag):
        __slots__ = ()

        def check(self, value: t.Any) -> bool:
            return isinstance(value, set | frozenset)

        def tag(self, value: t.Any) -> t.Any:
            return sorted(value)

    serializer.register(SetAsList)
    assert "" not in serializer.tags
    assert serializer.order[-1].__class__ is SetAsList
    assert serializer.dumps({"s": {3, 1}}) == '{"s":[1,3]}'


def test_json_tag_base_is_abstract(serializer: TaggedJSONSerializer) -> None:
    tag = JSONTag(serializer)
    assert tag.serializer is serializer
    assert tag.key == ""
    with pytest.raises(NotImplementedError):
        tag.check(1)
    with pytest.raises(NotImplementedError):
        tag.to_json(1)
    with pytest.raises(NotImplementedError):
        tag.to_python(1)


def test_default_tag_order(serializer: TaggedJSONSerializer) -> None:
    assert [type(tag).__name__ for tag in serializer.order] == [
        "TagDict",
        "PassDict",
        "TagTuple",
        "PassList",
        "TagBytes",
        "TagMarkup",
        "TagUUID",
        "TagDateTime",
    ]
    assert sorted(serializer.tags) == [" b", " d", " di", " m", " t", " u"]


class _Opaque:
    """A value only a ``default`` function can serialize."""

    def __init__(self, value: int) -> None:
        self.value = value


def _opaque_default(o: t.Any) -> t.Any:
    if isinstance(o, _Opaque):
        return {"opaque": o.value}
    raise TypeError(f"not serializable: {type(o).__name__}")


_JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.builds(_Opaque, st.integers()),
)
_JSON_VALUES = st.recursive(
    _JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        | st.dictionaries(st.integers(), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(value=_JSON_VALUES, ensure_ascii=st.booleans(), sort_keys=st.booleans())
def test_the_compact_encoder_equals_the_standard_one(
    value: t.Any, ensure_ascii: bool, sort_keys: bool
) -> None:
    standard = stdlib_json.JSONEncoder(
        default=_opaque_default,
        ensure_ascii=ensure_ascii,
        sort_keys=sort_keys,
        separators=(",", ":"),
    )
    ours = compact_encoder(_opaque_default, ensure_ascii, sort_keys)

    def outcome(encode: t.Callable[[t.Any], str]) -> tuple[str, str]:
        try:
            return "text", encode(value)
        except (TypeError, ValueError) as e:  # keys of mixed types under sort_keys
            return type(e).__name__, str(e)

    assert outcome(ours) == outcome(standard.encode)


def test_the_compact_encoder_refuses_a_circular_value_every_time() -> None:
    encode = compact_encoder(_opaque_default, True, False)
    loop: list[t.Any] = []
    loop.append(loop)
    for _ in range(2):  # a failed call leaves nothing behind for the next
        with pytest.raises(ValueError, match="Circular reference detected"):
            encode(loop)
    assert encode([[1], [1]]) == "[[1],[1]]"
