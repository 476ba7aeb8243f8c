"""`any_of`: an id column equal to one of a list of ids, the list sent as one parameter.

`field__in=[...]` compiles a placeholder per value: a technician whose teams serve 250 clients
put 250 of them into every scoped query, and compiling and parsing them cost more than the
rest of reading a ticket. On PostgreSQL `any_of` sends the ids as one array (`= ANY(%s)`,
which PostgreSQL plans as it plans IN); elsewhere it is IN.
"""

from django.db.models import Field, ForeignObject, Lookup


class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self):
        return [int(value) for value in self.rhs]  # ids only

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        ids = self.rhs
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, ids]
        if not ids:
            return "1 = 0", []
        return f"{lhs} IN ({', '.join(['%s'] * len(ids))})", [*lhs_params, *ids]


# Foreign keys take only the lookups registered on ForeignObject and its subclasses.
Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)
