"""The conversation flows. Each module registers its payload verbs, waiting states and menu labels,
each saying whether its handler writes (``bots.router``).

Payload grammar: ``verb[:arg…]`` in ASCII, at most 64 bytes (``p:12`` a product card, ``add:12:2``
two of product 12 into the cart). A verb is owned by exactly one module (``Router.on`` refuses a
second), so ``grep '"verb"'`` finds where a button leads.
"""

from __future__ import annotations

from bots.flows import (
    bnm,
    cashout,
    checkout,
    community,
    courier,
    delivery_choice,
    disputes,
    home,
    operator,
    shop_delivery,
    signup,
    trust,
    wallet,
)
from bots.flows.ads import campaigns, receiving
from bots.flows.producer import claims, listing, orders, products, registration
from bots.flows.producer import home as producer_home
from bots.flows.shopper import browse, cart, product
from bots.flows.shopper import orders as shopper_orders
from bots.router import Router


def build_router() -> Router:
    router = Router()
    for flow in (
        home,
        signup,
        browse,
        product,
        cart,
        shopper_orders,
        checkout,
        delivery_choice,
        wallet,
        cashout,
        bnm,
        producer_home,
        registration,
        listing,
        products,
        orders,
        claims,
        shop_delivery,
        courier,
        operator,
        disputes,
        receiving,
        campaigns,
        community,
        trust,
    ):
        flow.register(router)
    return router
