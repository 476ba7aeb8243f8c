from rest_framework import serializers

from msp import services
from msp.api.base import CleanModelSerializer
from msp.api.fields import IdField
from msp.choices import Tier
from msp.models import ApiToken, Asset, Client, Contact, Notification, Site, Team, User


class ServiceWritesMixin:
    """Creates and updates through the directory's services (msp.services), the functions the
    workspace pages call too: `create_service(by=..., **data)` and
    `update_service(<instance_keyword>=instance, by=..., **data)`."""

    create_service = None
    update_service = None
    instance_keyword = ""
    passes_actor = ()  # which of "create", "update" take the acting user as `by`

    def _actor(self, operation: str) -> dict:
        return {"by": self.context["request"].user} if operation in self.passes_actor else {}

    def create(self, validated_data):
        return type(self).create_service(**self._actor("create"), **validated_data)

    def update(self, instance, validated_data):
        return type(self).update_service(
            **{self.instance_keyword: instance}, **self._actor("update"), **validated_data
        )


class ClientSerializer(ServiceWritesMixin, CleanModelSerializer):
    create_service = services.client_create
    update_service = services.client_update
    instance_keyword = "client"
    passes_actor = ("create",)

    class Meta:
        model = Client
        fields = [
            "id",
            "name",
            "slug",
            "timezone",
            "status",
            "account_manager",
            "email_domains",
            "notes",
            "require_mfa",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class ClientOwnedSerializer(CleanModelSerializer):
    """For rows that belong to a client: related rows must belong to the same client."""

    def validate(self, attrs):
        attrs = super().validate(attrs)
        client = attrs.get("client") or getattr(self.instance, "client", None)
        for name in ("site", "asset", "contact"):
            related = attrs.get(name)
            if related is not None and client is not None and related.client_id != client.pk:
                raise serializers.ValidationError({name: "It belongs to another client."})
        return attrs


class SiteSerializer(ServiceWritesMixin, ClientOwnedSerializer):
    create_service = services.site_create
    update_service = services.site_update
    instance_keyword = "site"

    class Meta:
        model = Site
        fields = ["id", "client", "name", "address", "timezone", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class ContactSerializer(ServiceWritesMixin, ClientOwnedSerializer):
    create_service = services.contact_create
    update_service = services.contact_update
    instance_keyword = "contact"
    passes_actor = ("update",)

    class Meta:
        model = Contact
        fields = [
            "id",
            "client",
            "site",
            "full_name",
            "email",
            "phone",
            "job_title",
            "role",
            "is_active",
            "is_seat",
            "receives_reports",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class AssetSerializer(ServiceWritesMixin, ClientOwnedSerializer):
    create_service = services.asset_create
    update_service = services.asset_update
    instance_keyword = "asset"

    class Meta:
        model = Asset
        fields = [
            "id",
            "client",
            "site",
            "kind",
            "name",
            "hostname",
            "serial_number",
            "rmm_id",
            "is_active",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class UserSerializer(serializers.ModelSerializer):
    teams = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="The teams this person is a member of."
    )

    # Blank for everyone who is not a technician: the schema says so (the model's choices alone
    # gave an enum of L1-L3 that the API's own answers did not match).
    tier = serializers.ChoiceField(
        choices=Tier.choices,
        allow_blank=True,
        read_only=True,
        help_text="A technician's tier; empty for other staff and client users.",
    )

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "role", "tier", "client", "is_active", "teams"]
        read_only_fields = fields


class UserWriteSerializer(CleanModelSerializer):
    """A person made or changed by an administrator: staff (role and, for technicians, tier)
    or a client's user (role "client" and their client). New people are emailed a link to
    choose a password; no password goes through the API."""

    teams = IdField(
        queryset=Team.objects.all(),
        many=True,
        required=False,
        help_text="The teams this person is a member of (replaces them all); staff only.",
    )

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "full_name",
            "role",
            "tier",
            "client",
            "phone",
            "is_active",
            "teams",
        ]

    def validate(self, attrs):
        # The reverse side of Team.members: set by the service once the user is saved, not
        # assigned to the unsaved instance that the model's clean() checks.
        teams = attrs.pop("teams", None)
        attrs = super().validate(attrs)
        if teams is not None:
            attrs["teams"] = teams
        return attrs

    def clean_exclude(self) -> list[str]:
        return ["password"]

    def create(self, validated_data):
        return services.user_invite(by=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        return services.user_update(
            user=instance, by=self.context["request"].user, **validated_data
        )

    def to_representation(self, instance):
        return UserSerializer(instance, context=self.context).data


class TeamSerializer(CleanModelSerializer):
    def create(self, validated_data):
        return services.team_create(**validated_data)

    def update(self, instance, validated_data):
        return services.team_update(team=instance, **validated_data)

    class Meta:
        model = Team
        fields = ["id", "name", "tier", "lead", "members", "email", "serves_all_clients", "clients"]

    def to_representation(self, team):
        data = super().to_representation(team)
        # A team's clients are shown only as far as the reader sees them (staff of another
        # pod learn nothing of clients outside their scope, not even their ids).
        visible = self.context["request"].user.visible_clients()
        data["clients"] = [pk for pk in data["clients"] if pk in visible]
        return data


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "scope", "prefix", "created_at", "expires_at", "last_used_at"]
        read_only_fields = fields


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "title", "body", "url", "created_at", "read_at"]
        read_only_fields = fields


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=1000,
        help_text="The notifications to mark read; left out: every unread one.",
    )


class MarkedReadSerializer(serializers.Serializer):
    marked = serializers.IntegerField()
