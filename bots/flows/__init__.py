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
from bots.flows.ads import campaigns as ad_campaigns
from bots.flows.ads import receiving as ads_received
from bots.flows.producer import claims as shop_claims
from bots.flows.producer import home as shop_home
from bots.flows.producer import listing as shop_listing
from bots.flows.producer import orders as shop_orders
from bots.flows.producer import products as shop_products
from bots.flows.producer import registration as shop_registration
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
        shop_home,
        shop_registration,
        shop_listing,
        shop_products,
        shop_orders,
        shop_claims,
        shop_delivery,
        courier,
        operator,
        disputes,
        ads_received,
        ad_campaigns,
        community,
        trust,
    ):
        flow.register(router)
    return router
