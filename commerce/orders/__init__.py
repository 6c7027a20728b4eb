"""Orders from basket to settlement.

- ``service``     carts, quoting, placing and paying, cancelling, accepting, confirming (the state changes);
- ``placing``     placing's load → plan → write steps, shared by ``place_order`` and ``checkout``;
- ``payment``     the BNM/BTL mix of a payment, the share a shop allows, the escrow holds;
- ``settlement``  settling one order out of escrow, and refunds (the scheduler batches it over many);
- ``queries``     reading orders and carts;
- ``rows``        ``Order``, ``Line``, ``CartLine``: the stored rows, read by column name;
- ``errors``, ``events``  the refusals and the domain events of orders.
"""
