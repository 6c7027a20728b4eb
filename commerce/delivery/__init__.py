"""Where an order goes and how it gets there.

- ``service``     couriers take jobs, confirm pickup and delivery; shops hand pickup orders over;
- ``fulfilment``  the delivery choice of one order (address, pickup, window) and who may read it;
- ``addresses``   members' saved addresses; ``districts`` which areas a shop serves;
- ``windows``     the delivery windows a shop offers.
"""
