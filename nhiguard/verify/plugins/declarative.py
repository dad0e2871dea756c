"""The declarative HTTP verifier: a rule's `verify.request` rendered with the secret, sent through the transport,
and the answer mapped by the rule's `live` / `invalid` matchers (anything else is `unknown`)."""

from __future__ import annotations

from nhiguard.http import Request
from nhiguard.model import Verdict
from nhiguard.verify.plugins import NotChecked, Target, Transport
from nhiguard.verify.spec import Answer, MissingValue, evaluate, render


def verify(target: Target, transport: Transport) -> Verdict:
    spec = target.spec
    if spec.request is None:
        raise NotChecked("the rule's verify block has no request")
    values = {"secret": target.secret, **target.parts}
    try:
        rendered = render(spec.request, values)
    except MissingValue as exc:
        raise NotChecked(f"needs '{exc.name}', which was not found near the secret") from None
    except ValueError as exc:
        raise NotChecked(str(exc)) from None
    response = transport.send(
        Request(
            method=rendered.method,
            url=rendered.url,
            headers=rendered.headers,
            body=rendered.body,
            basic_auth=rendered.basic_auth,
        ),
        from_secret=rendered.host_from_secret,
    )
    return evaluate(spec, Answer(response.status, response.headers, response.body))
