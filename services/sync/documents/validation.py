"""FHIR validation with fhir.resources, fast for bundles made of a few recurring shapes.

    known_valid(Bundle, bundle_dict)  # True: valid; False: let Bundle.parse_obj decide and report
    validate(Bundle, bundle_dict)     # None when valid, else raises pydantic's ValidationError

fhir.resources (pydantic 1) validates an element in three parts, each with its own model's
validators: the element's keys (no unknown one, ``Extra.forbid``; the required ones present and
not null and at most one of each choice ``value[x]``: the generated ``pre`` root validators look
only at which keys hold a value), each primitive value on its own (its field's type: ``code``,
``dateTime``, ``uri``, ...), and each complex value as an element of its field's type, with the
same three parts. So an element is valid exactly when its *shape* (its model and, per key, the
shape of what it holds) is valid and every primitive value in it is valid for its field. (A
model with any other validator, root or field, is never walked: `_decomposable`.)

Here each shape is validated once by fhir.resources itself (the model parses an element of that
shape, its primitives the actual ones, its complex values earlier parsed elements of their
shapes), and each primitive value once per field (the field's own pydantic validation, as the
model runs it); a bundle whose shapes and values were all seen valid before is valid without
building its models. Whenever the walk meets a fault or anything it does not expect (an unknown
key, a null, a primitive extension, an unknown resource type, a value that is not JSON-like),
the model parses the whole bundle, so that fhir.resources alone decides and its errors carry
their full locations (a fault the whole parse does not confirm is no fault).

An element seen before with the same keys, primitive values and shapes of the elements it holds
has the shape found then, without a walk of its keys (`_nested`); shapes are numbered, so that
an element's shape is hashed without its children's.

The caches are per process and bounded (a full one is emptied: only speed is lost).
"""

from __future__ import annotations

import itertools
from typing import Any

from fhir.resources import fhirtypes
from fhir.resources.core.fhirabstractmodel import FHIRAbstractModel
from fhir.resources.fhirtypesvalidators import get_fhir_model_class
from pydantic import ValidationError
from pydantic.fields import SHAPE_LIST, SHAPE_SINGLETON

MAX_SHAPES = 20_000
MAX_VALUES = 200_000

_LIST = object()
_SCALARS = (str, int, float, bool)


class _Unexpected(Exception):
    """The walk met a fault or something it does not decide itself: the model parses the whole."""


# model -> (its resourceType, {JSON key: (field, child model or None, is_list)}); the child model
# of a primitive field is None, of a resource field (Bundle.entry.resource) the model itself
# (the resource's own resourceType tells which)
_MODELS: dict[type, tuple[str, dict[str, tuple[Any, Any, bool]]]] = {}
# shape -> its number; a shape is (model, then per key the key, or the key with the number of the
# shape it holds, or with the set of the numbers of the shapes its list holds): numbers, so that
# an element's shape is hashed without hashing its children's again
_SHAPES: dict[tuple, int] = {}
# a shape's number -> a validated model instance of that shape (what a later shape's parse is
# given for it)
_INSTANCES: dict[int, FHIRAbstractModel] = {}
_NUMBERS = itertools.count()           # never one number for two shapes, not even after emptying
# (model, keys, values, their types) of an element of primitive values only -> its shape
_FLAT: dict[tuple, int] = {}
# (model, keys, the primitive values and the shapes of the complex ones, the values' types) of an
# element holding elements -> its shape
_NESTED: dict[tuple, int] = {}
# (model, key, type, value) of primitive values a field accepted
_VALUES: set[tuple] = set()
_BY_RESOURCE_TYPE = object()


# The root validators whose verdict depends only on which keys hold a value (fhir.resources'
# generated ones); a model with any other (or a field validator) is parsed whole, never walked.
_KEY_ONLY_VALIDATORS = ("validate_required_primitive_elements_", "validate_one_of_many_")


def _decomposable(model: type) -> bool:
    return not model.__post_root_validators__ and all(
        validator.__name__.startswith(_KEY_ONLY_VALIDATORS) for validator in model.__pre_root_validators__) \
        and not any(field.class_validators for field in model.__fields__.values())


def _model(model: type) -> tuple[str, dict[str, tuple[Any, Any, bool]]]:
    found = _MODELS.get(model)
    if found is None:
        if not _decomposable(model):
            raise _Unexpected
        fields = {}
        for name, field in model.__fields__.items():
            if name in ("resource_type", "fhir_comments") or field.alias.startswith("_"):
                continue               # primitive extensions (_x) and comments: parsed whole
            if field.shape not in (SHAPE_SINGLETON, SHAPE_LIST):
                continue
            type_ = field.type_
            child: Any = None
            if isinstance(type_, type) and issubclass(type_, fhirtypes.AbstractBaseType):
                child = _BY_RESOURCE_TYPE
            elif isinstance(type_, type) and issubclass(type_, fhirtypes.AbstractType):
                child = get_fhir_model_class(type_.__resource_type__)
            fields[field.alias] = (field, child, field.shape == SHAPE_LIST)
        found = _MODELS[model] = (model.__fields__["resource_type"].default, fields)
    return found


def _primitive(model: type, key: str, field: Any, value: Any) -> None:
    kind = type(value)
    if kind is list:
        if not all(type(item) in _SCALARS for item in value):
            raise _Unexpected
        frozen = (model, key, list, tuple((type(item), item) for item in value))
    elif kind in _SCALARS:
        frozen = (model, key, kind, value)
    else:
        raise _Unexpected
    if frozen in _VALUES:
        return
    _, errors = field.validate(value, {}, loc=key, cls=model)
    if errors:
        raise _Unexpected
    if len(_VALUES) >= MAX_VALUES:
        _VALUES.clear()
    _VALUES.add(frozen)


def _shape(model: Any, data: Any) -> int:
    """The shape of one element, its shape and primitive values checked."""
    if type(data) is not dict:
        raise _Unexpected
    if model is _BY_RESOURCE_TYPE:
        try:
            model = get_fhir_model_class(data["resourceType"])
        except (KeyError, TypeError):
            raise _Unexpected from None
    values = tuple(data.values())
    types = tuple(map(type, values))
    if dict in types or list in types:
        return _nested(model, data, values, types)
    flat = (model, tuple(data), values, types)
    try:
        return _FLAT[flat]
    except KeyError:
        pass                           # not seen, or seen with other values
    except TypeError:
        return _walk(model, data)      # a value that is no JSON value: the walk says so
    shape = _walk(model, data)
    if len(_FLAT) >= MAX_VALUES:
        _FLAT.clear()
    _FLAT[flat] = shape
    return shape


def _nested(model: type, data: dict, values: tuple, types: tuple) -> int:
    """The shape of an element that holds elements: the one the walk found for an element of the
    same model, keys and primitive values whose elements have the same shapes."""
    fields = _model(model)[1]
    parts: list[Any] = []
    for key, value, kind in zip(data, values, types):
        if kind is dict or kind is list:
            spec = fields.get(key)
            if spec is None or spec[1] is None or spec[2] is not (kind is list):
                return _walk(model, data)          # the walk says what is wrong
            if kind is dict:
                parts.append(_shape(spec[1], value))
            else:
                parts.append(tuple([_shape(spec[1], item) for item in value]))
        else:
            parts.append(value)
    nested = (model, tuple(data), tuple(parts), types)
    try:
        return _NESTED[nested]
    except KeyError:
        pass
    except TypeError:
        return _walk(model, data, parts)
    shape = _walk(model, data, parts)
    if len(_NESTED) >= MAX_VALUES:
        _NESTED.clear()
    _NESTED[nested] = shape
    return shape


def _walk(model: type, data: dict, known: list[Any] | None = None) -> int:
    """The shape of an element, each of its keys and values checked (``known``: the shapes of the
    elements it holds, by position, as `_nested` found them)."""
    resource_type, fields = _model(model)
    parts: list[Any] = [model]
    children: dict[str, Any] = {}
    for index, (key, value) in enumerate(data.items()):
        if key == "resourceType":
            if value != resource_type:
                raise _Unexpected
            parts.append(key)
            continue
        spec = fields.get(key)
        if spec is None or value is None:
            raise _Unexpected
        field, child, many = spec
        if child is None:
            _primitive(model, key, field, value)
            parts.append(key)
        elif many:
            if type(value) is not list:
                raise _Unexpected
            shapes = dict.fromkeys(known[index] if known else [_shape(child, item) for item in value])
            parts.append((key, _LIST, frozenset(shapes)))
            children[key] = [_INSTANCES[shape] for shape in shapes]
        else:
            shape = known[index] if known else _shape(child, value)
            parts.append((key, shape))
            children[key] = _INSTANCES[shape]
    parts_ = tuple(parts)
    found = _SHAPES.get(parts_)
    if found is None:
        # The first element of this shape: the model parses it, its own primitives as they are,
        # each complex value an instance of the same shape as the one it holds.
        instance = model.parse_obj({**data, **children})
        if len(_SHAPES) >= MAX_SHAPES:
            _SHAPES.clear()
            _INSTANCES.clear()
            _FLAT.clear()
            _NESTED.clear()
            raise _Unexpected          # the instances the walk holds went with it: parse the whole
        found = _SHAPES[parts_] = next(_NUMBERS)
        _INSTANCES[found] = instance
    return found


def known_valid(model: type, data: dict) -> bool:
    """True when ``data`` is a valid ``model`` (a Bundle, a resource) by the shapes and values
    fhir.resources validated before (parsing the shapes not seen yet); False when the walk found a
    fault or met something it does not decide: then only ``model.parse_obj(data)`` can tell."""
    try:
        _shape(model, data)
    except (_Unexpected, ValidationError, LookupError):
        return False
    return True


def validate(model: type, data: dict) -> None:
    """Raises pydantic's ValidationError (fhir.resources' errors, full locations) unless ``data``
    is a valid ``model``."""
    if not known_valid(model, data):
        model.parse_obj(data)              # fhir.resources decides, and says where
