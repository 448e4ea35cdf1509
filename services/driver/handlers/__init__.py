"""Driver use cases by sub-domain: plain functions over the entrypoint's Session. They
never commit (the unit of work does, shared.db.Database) and collect their events with
shared.db.publish; import the module you need (`from services.driver.handlers import trips`).
The exception is the partner batch (fuelings.store_fuelings, run by the consumer in
services/driver/partner/consumer.py outside any entrypoint), which commits its own batch.

drivers    the driver's profile and vehicle (read models of identity's and fleet's events)
home       the Driver Assistant's home screen
trips      the driving log
vehicles   what a customer company sees of its vehicle's use (trips, fuelings, summary)
tires      tire storage
washes     wash bookings
location   location pings under the location_tracking consent
fuelings   partner fuelings: matching, the partner fueling dedupe (store_fuelings), lists
privacy    personal-data export and erasure
"""
