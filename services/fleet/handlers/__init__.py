"""Fleet use cases by sub-domain: plain functions over the entrypoint's Session. They
never commit (the unit of work does, shared.db.Database) and collect their events with
shared.db.publish; import the module you need (`from services.fleet.handlers import vehicles`).

vehicles        vehicles, their assignment history and who may see a vehicle (get_vehicle, held_vehicle)
vehicle_detail  the aggregated vehicle (contract, latest odometer reading, delivery)
contracts       leasing contracts (the state machine itself is Contract.move_to in models.py)
dealerships     dealerships
deliveries      deliveries of ordered cars
odometer        odometer readings, incl. the readings of the driver's log (driver.trip_logged)
service_events  maintenance and washes
fuelings        fuelings from driver.fueling_recorded
reports         dashboard, usage and cost reports
settings        per-company settings
privacy         personal-data export and erasure
"""
