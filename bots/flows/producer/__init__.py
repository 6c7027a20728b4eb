"""The producer's chat: open a shop, list goods with their origin, keep stock and prices, record
provenance, take orders and hand them to couriers, answer claims, see sales, cash out.

Every step calls one commerce service and renders its answer; the services check every rule. The
flow only parses what was typed ("1만2천" → 12000) and keeps the draft of a multi-step answer in the
conversation state. Waiting states (text expected) and the buttons between them::

    ps ─(no shop)─ psn ▶ shop.name ▶ shop.kind ▶ shop.market [▶ shop.market_t] ▶ shop.region
                   ▶ shop.phone ▶ shop.share ▶ shop.fee ▶ shop.confirm ─psok▶ pending (an operator approves)
    ps ─(verified)─ pa ▶ add.name ▶ add.cat ▶ add.unit ▶ add.price ▶ add.stock ▶ add.photo
                   ▶ add.region ▶ add.farm ▶ add.confirm ─paok▶ listed (findable at once)
    pl ▶ pm:<product> ▶ pst:<p>:<±n> | pstn ▶ stock | ppr ▶ price (or pprd:<p>:<±won>) | pev ▶ pevr (one tap)
    po ▶ pod:<order> ▶ pacc ▶ pasg ▶ pasc:<order>:<courier>     pod ▶ pdec ▶ pdecy (the buyer gets it all back)
    pcl ▶ pclv:<claim> ▶ pcla:<claim>:<f|p|r|x> [▶ claim.amount | claim.reason] ▶ claim.confirm ─pcly▶ answered
    psale (sales and balance) ▶ pco (cash-out: bots/flows/cashout.py, every member's)

A button from a step already passed (the draft is gone or belongs to another step) is answered with
"that screen has passed" and the shop's home — never acted on.

One module a part: ``home`` (the shop's home, its sales, and what every screen here shares),
``registration`` (opening a shop), ``listing`` (adding a product), ``products`` (stock, price,
provenance, labels), ``orders`` (a shop's orders and couriers), ``claims`` (answering claims).
"""
