from django.urls import path

from .views import auth, home, notifications, organisation, people

org = "organisations/<str:ods_code>/"

urlpatterns = [
    path("", home.HomeView.as_view(), name="home"),
    path("sign-in/", auth.SignInView.as_view(), name="login"),
    path("sign-out/", auth.SignOutView.as_view(), name="sign_out"),
    path(
        "password/forgotten/",
        auth.ForgottenPasswordView.as_view(),
        name="password_forgotten",
    ),
    path(
        "password/forgotten/sent/",
        auth.ForgottenPasswordSentView.as_view(),
        name="password_forgotten_sent",
    ),
    path(
        "password/set/<uidb64>/<token>/",
        auth.PasswordSetView.as_view(),
        name="password_set",
    ),
    path("password/set/done/", auth.PasswordSetDoneView.as_view(), name="password_set_done"),
    path("profile/", home.ReferrerHomeView.as_view(), name="referrer_home"),
    path(
        "profile/registration/",
        people.RegistrationEditView.as_view(),
        name="referrer_registration",
    ),
    path("supervision/", home.SupervisorHomeView.as_view(), name="supervisor_home"),
    path("notifications/", notifications.NotificationsView.as_view(), name="notifications"),
    path(f"{org}delegate/", home.DelegateHomeView.as_view(), name="delegate_home"),
    path(f"{org}governance/", home.GovernanceHomeView.as_view(), name="governance_home"),
    path(f"{org}practitioner/", home.PractitionerHomeView.as_view(), name="practitioner_home"),
    path(
        f"{org}administration/",
        home.AdministrationHomeView.as_view(),
        name="administration_home",
    ),
    path(
        f"{org}delegates/",
        people.DelegateAppointmentListView.as_view(),
        name="delegate_appointments",
    ),
    path(
        f"{org}delegates/add/",
        people.DelegateAppointmentCreateView.as_view(),
        name="delegate_appointment_add",
    ),
    path(
        f"{org}delegates/<int:pk>/end/",
        people.DelegateAppointmentEndView.as_view(),
        name="delegate_appointment_end",
    ),
    path(f"{org}people/", organisation.PeopleView.as_view(), name="people"),
    path(f"{org}people/add/", organisation.RoleGrantView.as_view(), name="role_grant"),
    path(
        f"{org}people/roles/<int:pk>/remove/",
        organisation.RoleRemoveView.as_view(),
        name="role_remove",
    ),
    path(f"{org}departments/", organisation.DepartmentsView.as_view(), name="departments"),
    path(f"{org}agreements/", people.AgreementListView.as_view(), name="agreements"),
    path(f"{org}agreements/add/", people.AgreementCreateView.as_view(), name="agreement_add"),
]
