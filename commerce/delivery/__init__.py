"""Where an order goes and how it gets there.

- ``service``     couriers take jobs, confirm pickup and delivery; shops hand pickup orders over;
- ``queries``     jobs, the couriers' board and route, the buyer's code;
- ``fulfilment``  the delivery choice of one order (address, pickup, window) and who may read it;
- ``addresses``   members' saved addresses; ``districts`` which areas a shop serves;
- ``windows``     the delivery windows a shop offers;
- ``rows``, ``errors``, ``events``  addresses, choices and jobs as stored; refusals; domain events.
"""
