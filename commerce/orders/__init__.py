"""Orders from basket to settlement.

- ``service``     baskets, checkout and placing an order (stock, escrow holds, idempotency);
- ``payment``     the BNM/BTL mix of a payment;
- ``settlement``  settling one order out of escrow, and refunds (the scheduler batches it over many).
"""
